"""Runs as readable text: the task tree, tables and short times."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any


def render_run(run: dict[str, Any]) -> str:
    """A run as readable text: header, payload, output or error, task tree, logs."""
    lines = [
        f"run {run['id']}  job {run['job_id']} {run.get('job_version') or ''}".rstrip(),
        f"status     {run['status']}",
        f"created    {clock(run['created_at'])}",
        f"duration   {duration(run.get('started_at'), run.get('completed_at'))}",
        f"invocations {run.get('invocation_count', 0)}",
        f"payload    {compact(run.get('payload'))}",
    ]
    usage = run.get("usage") or {}
    if usage.get("invocations"):
        lines.append(
            f"cost       ${run.get('cost_usd', 0.0):.6f} (estimated: "
            f"{usage.get('billed_seconds', 0):.3f} s billed, {usage.get('store_reads', 0)} "
            f"store reads, {usage.get('store_writes', 0)} writes, "
            f"{usage.get('queue_messages', 0)} queue messages, "
            f"{usage.get('blob_requests', 0)} blob requests)"
        )
    if run.get("parent_run_id"):
        lines.append(f"parent     {run['parent_run_id']}")
    if run.get("resume_at"):
        lines.append(f"resumes    {clock(run['resume_at'])}")
    if run.get("output") is not None:
        lines.append(f"output     {compact(run['output'])}")
    if run.get("error"):
        lines.append(f"error      {error_line(run['error'])}")
    if run.get("statuses"):
        lines.append("statuses")
        for status in run["statuses"]:
            state = f"[{status['state']}] " if status.get("state") else ""
            data = f"  {compact(status['data'])}" if status.get("data") else ""
            earlier = len(status.get("history") or [])
            lines.append(f"  {status['key']}  {state}{status['label']}{data}"
                         f"{f'  ({earlier} earlier)' if earlier else ''}")
    lines.append("tasks")
    tasks = run.get("tasks") or []
    lines.extend(_tree(tasks, prefix="  ") if tasks else ["  (none)"])
    if run.get("logs"):
        lines.append("logs")
        for log in run["logs"]:
            fields = " ".join(f"{k}={compact(v)}" for k, v in log.get("fields", {}).items())
            lines.append(f"  {clock(log['time'])} {log['level'].upper():5} {log['message']}"
                         f"{' ' + fields if fields else ''}")
    return "\n".join(lines)


def _tree(tasks: list[dict[str, Any]], *, prefix: str) -> list[str]:
    lines: list[str] = []
    for index, task in enumerate(tasks):
        last = index == len(tasks) - 1
        label = task["key"] + (" (wait)" if task.get("kind") == "wait" else "")
        detail = [task["status"], duration(task.get("started_at"), task.get("completed_at"))]
        if task.get("attempts", 0) > 1:
            detail.append(f"{task['attempts']} attempts")
        if task.get("error"):
            detail.append(error_line(task["error"]))
        if task.get("child_run_id"):
            detail.append(f"child run {task['child_run_id']}")
        lines.append(f"{prefix}{'└─' if last else '├─'} {label}  {'  '.join(detail)}")
        lines.extend(_tree(task.get("children") or [], prefix=prefix + ("   " if last else "│  ")))
    return lines


def print_table(header: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def parse_time(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value)


def clock(value: str | None) -> str:
    moment = parse_time(value)
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def duration(started: str | None, completed: str | None) -> str:
    start, end = parse_time(started), parse_time(completed)
    if start is None or end is None:
        return "-"
    seconds = (end - start).total_seconds()
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def error_line(error: dict[str, Any]) -> str:
    return f"{error.get('type', 'Error')}: {error.get('message', '')}".splitlines()[0]


def compact(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."
