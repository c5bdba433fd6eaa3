"""Django's own routes; ``/jobs`` is mounted beside Django in asgi.py, not here."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("orders/", views.place_order),
]
