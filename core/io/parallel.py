"""`io.parallel`: `fn(item)` for each item, as subtasks of one parent task.

    parent recorded final -> its output (list, dict or BatchResult) or the same TaskFailed
                             (no write, nothing run)
    otherwise             -> run_task(key): each item is run_task(item key) inside it
                             ("0", "1", ... for a list, the dict's keys for a dict), at most
                             `max_concurrency` in flight; completed items replay, items
                             past the yield margin suspend (a yield) and run next time

Without a completion policy, outputs are in item order (a dict of outputs for dict items)
and a failure is reported for the first failing item in item order, so a replay never
depends on completion order. With one (core/batch.py) the parent records a `BatchResult`:
replays return that same result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..batch import BatchItem, BatchItemStatus, BatchResult, CompletionPolicy, CompletionReason
from ..errors import ConfigError, Suspend, TaskFailed
from ..port import check_key
from ..serdes import DEFAULT_SERDES, from_tagged, to_tagged
from .tasks import run_task

if TYPE_CHECKING:
    from ..port import Port
    from ..serdes import Serdes


async def parallel(
    inv: Port,
    key: str,
    items: Iterable[Any] | Mapping[str, Any],
    fn: Callable[[Any], Any],
    *,
    max_concurrency: int | None,
    min_successful: int | None = None,
    tolerated_failures: int | None = None,
    tolerated_failure_ratio: float | None = None,
    serdes: Serdes | None = None,
) -> Any:
    """Runs `fn(item)` for every item under one parent task (see the module docstring)."""
    keyed = _keyed_items(items)
    if not callable(fn):
        raise TypeError(f"io.parallel fn must be callable, got {type(fn).__name__}")
    if max_concurrency is not None and (
        isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int)
        or max_concurrency < 1
    ):
        raise ValueError(f"io.parallel max_concurrency must be an integer of at least 1, "
                         f"got {max_concurrency!r}")  # fmt: skip
    policy = CompletionPolicy.parse(
        len(keyed), min_successful=min_successful, tolerated_failures=tolerated_failures,
        tolerated_failure_ratio=tolerated_failure_ratio,
    )  # fmt: skip
    codec = serdes or inv.runtime.serdes or DEFAULT_SERDES
    shape = "batch" if policy is not None else "dict" if isinstance(items, Mapping) else "list"

    async def fan_out() -> Any:
        total = len(keyed)
        gate = asyncio.Semaphore(max_concurrency or max(1, total))
        counts = {"completed": 0, "failed": 0}
        decided: list[CompletionReason] = []  # the first decision, once made

        async def one(item_key: str, item: Any) -> BatchItem:
            async with gate:
                if decided and max_concurrency is not None:  # queued behind the bound: skip
                    return BatchItem(item_key, BatchItemStatus.NOT_STARTED)
                async with inv.io_call():
                    try:
                        output = await run_task(
                            inv, item_key, lambda: fn(item), name=None, retry=None, icon=None,
                            properties=None, serdes=codec,
                        )  # fmt: skip
                    except TaskFailed as exc:
                        done = BatchItem(item_key, BatchItemStatus.FAILED, None, exc.error)
                        counts["failed"] += 1
                    else:
                        done = BatchItem(item_key, BatchItemStatus.COMPLETED, output)
                        counts["completed"] += 1
                    if not decided:
                        if policy is None:
                            reason = (CompletionReason.FAILURE_TOLERANCE_EXCEEDED
                                      if counts["failed"] else None)  # fmt: skip
                        else:
                            reason = policy.decide(counts["completed"], counts["failed"], total)
                        if reason is not None:
                            decided.append(reason)
                    return done

        runs = [asyncio.ensure_future(one(k, item)) for k, item in keyed]
        results = await asyncio.gather(*runs, return_exceptions=True)
        for result in results:
            if isinstance(result, Suspend):
                raise result
        for result in results:
            if isinstance(result, BaseException):
                raise result
        settled: list[BatchItem] = list(results)  # type: ignore[arg-type]
        if policy is None:
            for item in settled:
                if item.status is BatchItemStatus.FAILED:
                    error = item.error or {}
                    message = f"item {item.key!r} failed: {error.get('message', '')}"
                    raise TaskFailed(item.key, {**error, "message": message})
            if shape == "dict":
                return {item.key: item.output for item in settled}
            return [item.output for item in settled]
        errors = [_error_of(i) for i in settled]
        items_out = [BatchItem(i.key, i.status, i.output, e) for i, e in zip(settled, errors)]
        return BatchResult(items_out, decided[0] if decided else CompletionReason.ALL_COMPLETED)

    properties = [{"label": "items", "text": str(len(keyed))}]
    if max_concurrency:
        properties.append({"label": "max concurrency", "text": str(max_concurrency)})
    if policy is not None:
        properties.extend({"label": name.replace("_", " "), "text": str(value)}
                          for name, value in vars(policy).items() if value is not None)  # fmt: skip
    return await run_task(
        inv, key, fan_out, name=f"parallel ({len(keyed)} items)", retry=None, icon="parallel",
        properties=properties, serdes=_ParentSerdes(codec, shape),
    )  # fmt: skip


def _keyed_items(items: object) -> list[tuple[str, Any]]:
    """(subtask key, item) pairs: "0", "1", ... for a sequence, the keys of a dict."""
    if isinstance(items, Mapping):
        for name in items:
            if not isinstance(name, str):
                raise ConfigError(f"io.parallel items: a dict's keys name the subtasks and must "
                                  f"be str, got {name!r}")  # fmt: skip
            try:
                check_key(name)
            except ValueError as exc:
                raise ConfigError(f"io.parallel items: {exc}") from None
        return list(items.items())
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise TypeError(f"io.parallel items must be a list, another sequence or a dict, got "
                        f"{type(items).__name__}")  # fmt: skip
    return [(str(index), item) for index, item in enumerate(items)]


def _error_of(item: BatchItem) -> dict[str, str] | None:
    """A failed item's error as `{type, message}`."""
    if item.status is not BatchItemStatus.FAILED:
        return None
    error = item.error or {}
    return {"type": str(error.get("type", "TaskFailed")), "message": str(error.get("message", ""))}


class _ParentSerdes:
    """Stores the parent's output (a list, a dict by key, or a BatchResult) with each item's
    output encoded by the items' serdes: inline tagged JSON for the default, else its text."""

    def __init__(self, codec: Serdes, shape: str) -> None:
        self.codec = codec
        self.shape = shape

    def _out(self, value: Any) -> Any:
        return to_tagged(value) if self.codec is DEFAULT_SERDES else self.codec.serialize(value)

    def _in(self, data: Any) -> Any:
        return from_tagged(data) if self.codec is DEFAULT_SERDES else self.codec.deserialize(data)

    def serialize(self, value: Any) -> str:
        if self.shape == "list":
            data: Any = [self._out(v) for v in value]
        elif self.shape == "dict":
            data = {k: self._out(v) for k, v in value.items()}
        else:
            data = value.to_json_data()
            for item in data["items"]:
                if item["status"] == BatchItemStatus.COMPLETED.value:
                    item["output"] = self._out(item["output"])
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def deserialize(self, text: str) -> Any:
        data = json.loads(text)
        if self.shape == "list":
            return [self._in(v) for v in data]
        if self.shape == "dict":
            return {k: self._in(v) for k, v in data.items()}
        for item in data["items"]:
            if item["status"] == BatchItemStatus.COMPLETED.value:
                item["output"] = self._in(item["output"])
        return BatchResult.from_json_data(data)
