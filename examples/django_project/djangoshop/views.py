"""Django views that send triggerfish events: async views await the client directly."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .jobs import client


@csrf_exempt  # an API endpoint of the example; keep CSRF on for forms
@require_POST
async def place_order(request: HttpRequest) -> JsonResponse:
    order = json.loads(request.body)
    event = await client.send_event("order.placed", order, id=f"order-{order['order']}")
    return JsonResponse({"event_id": event.id, "run_ids": list(event.run_ids)}, status=202)


async def home(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"app": "django-shop", "jobs": "/jobs/"})
