"""Stored records to the public models: a run with its task tree and log lines."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .models import LogLine, Run, Status, StatusValue, Task
from .serialize import load_json
from .store.base import History, RunRecord, TaskRecord
from .times import to_datetime, utc
from .types import RunStatus, TaskStatus
from .usage import usage_of


def build_task(record: TaskRecord) -> Task:
    """One task record as a `Task` (without children)."""
    return Task(
        id=record.id,
        key=record.key,
        name=record.name,
        kind=record.kind,
        status=record.status,
        output=shown_output(record.output_json),
        error=record.error,
        attempts=record.attempts,
        started_at=to_datetime(record.started_at),
        completed_at=to_datetime(record.completed_at),
        resume_at=to_datetime(record.resume_at),
        parent=record.parent_id,
        icon=record.icon,
        properties=record.properties,
        child_run_id=record.child_run_id,
    )


def shown_output(text: str | None) -> Any:
    """A task's stored output as JSON data; a custom serdes' text that is not JSON as is."""
    try:
        return load_json(text)
    except ValueError:
        return text


def build_tree(records: list[TaskRecord]) -> list[Task]:
    """Tasks as a tree in start order; a task whose parent is not recorded stays at the top."""
    ordered = sorted(records, key=lambda r: (r.started_at or 0.0, r.key))
    tasks = {r.id: build_task(r) for r in ordered}
    roots: list[Task] = []
    for record in ordered:
        task = tasks[record.id]
        parent = tasks.get(record.parent_id) if record.parent_id else None
        if parent is None:
            roots.append(task)
        else:
            parent.children.append(task)
    return roots


def build_run(record: RunRecord, history: History | None) -> Run:
    """A `Run`; with `history`, its tasks (as a tree) and its logs in time order."""
    run = Run(
        id=record.id,
        job_id=record.job_id,
        job_version=record.job_version,
        status=record.status,
        payload=load_json(record.payload_json),
        output=load_json(record.output_json),
        error=record.error,
        event_id=record.event_id,
        event_name=record.event_name,
        created_at=utc(record.created_at),
        started_at=to_datetime(record.started_at),
        completed_at=to_datetime(record.completed_at),
        updated_at=to_datetime(record.updated_at),
        resume_at=to_datetime(record.resume_at),
        invocation_count=record.invocation_count,
        environment=record.environment,
        usage=usage_of(record.usage),
        cost_usd=float((record.usage or {}).get("cost_usd", 0.0)),
        expires_at=to_datetime(record.expires_at),
        parent_run_id=record.parent_run_id,
        priority=record.priority,
        queued_reason=record.queued_reason if record.status is RunStatus.QUEUED else None,
    )
    if history is not None:
        records = list(history.tasks.values())
        if record.status.is_final:
            # A run that ended (canceled, timed out, failed) leaves no task running or waiting.
            records = [
                r if r.status.is_final else replace(r, status=TaskStatus.CANCELED, resume_at=None)
                for r in records
            ]
        run.tasks = build_tree(records)
        run.statuses = build_statuses(records)
        logs = sorted(history.logs.values(), key=lambda log: (log.time, log.key))
        run.logs = [
            LogLine(
                level=log.level,
                message=log.message,
                fields=log.fields,
                time=utc(log.time),
                task_key=log.task_key,
            )
            for log in logs
        ]
    return run


def build_statuses(records: list[TaskRecord]) -> list[Status]:
    """`io.create_status` records folded into statuses: current value, earlier ones in order."""
    made = sorted((r for r in records if r.kind == "status" and r.status.is_final),
                  key=lambda r: (r.started_at or 0.0, r.key))  # fmt: skip
    updates: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for record in records:
        value = load_json(record.output_json) if record.kind == "status_update" else None
        if isinstance(value, dict) and isinstance(value.get("status"), str):
            updates.setdefault(value["status"], []).append((record.started_at or 0.0, value))
    statuses: list[Status] = []
    for record in made:
        first = load_json(record.output_json)
        if not isinstance(first, dict):
            continue
        values = [(record.started_at or 0.0, first), *sorted(updates.get(record.id, []),
                                                             key=lambda u: u[0])]  # fmt: skip
        history = [
            StatusValue(label=str(v.get("label", "")), state=v.get("state"),
                        data=v.get("data"), time=utc(t))
            for t, v in values
        ]
        current = history.pop()
        statuses.append(Status(key=record.key, label=current.label, state=current.state,
                               data=current.data, updated_at=current.time, history=history))  # fmt: skip
    return statuses
