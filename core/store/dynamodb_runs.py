"""`DynamoDBRunWrites`: the run item's writes, each one conditional UpdateItem.

Creating a run, taking its lease (`acquire_lease`, `lease_run`), the engine's writes under
the lease (`update_run`), and the writes from outside it: cancel, wake, retry, the hooks'
due time. Each keeps the run's due-index keys (GSI3) in step with its status: `DUE#<n>`
while it waits or runs, `EXPIRES#<n>` once finished with a retention, the job's sharded
GSI1PK while QUEUED (see store/dynamodb.py for the table's layout).
"""

from __future__ import annotations

import time
from typing import Any

from ..types import RunStatus
from .base import (
    MAX_INLINE_OUTPUT_BYTES,
    MAX_PAYLOAD_ROOM_BYTES,
    PRIORITY_STEP,
    RunRecord,
    retried_run_changes,
    sort_key,
)
from .dynamodb_table import DynamoDBTable
from .items import RUN_FIELDS, encode, encoded, final_values, item_attributes, same_fields

_WAKEABLE = (RunStatus.WAITING.value, RunStatus.WAITING_ON_CONNECTIONS.value)
"""The statuses `wake_run` brings forward (a wait, or a connection now set)."""
_LEASE_UPDATE = (
    "SET #status = :executing, lease_owner = :owner, lease_expires_at = :exp,"
    " due_at = :exp, GSI3PK = :due, GSI3SK = :exp, updated_at = :now,"
    " invocation_count = if_not_exists(invocation_count, :zero) + :one,"
    " started_at = if_not_exists(started_at, :now)"
)
"""Taking a run's lease: EXECUTING, owned until :exp (also its due time), counted."""


class DynamoDBRunWrites(DynamoDBTable):
    """The run item: created, leased, updated under the lease, canceled, woken, retried."""

    def _run_item(self, run: RunRecord) -> dict[str, Any]:
        item = item_attributes(run, RUN_FIELDS)
        item.update(self._output_attributes(run.output_json, run.id, "output", "run output"))
        key = sort_key(run.created_at, run.id)
        shard = self.shard(run.id)
        item.update(
            PK={"S": f"RUN#{run.id}"},
            SK={"S": "RUN"},
            GSI1PK={"S": f"JOB#{run.job_id}#{shard}"},
            GSI1SK={"S": key},
            GSI2PK={"S": f"RUNS#{shard}"},
            GSI2SK={"S": key},
        )
        if run.due_at is not None:
            item.update(GSI3PK=self._due_key(run.id), GSI3SK={"N": repr(run.due_at)})
        elif run.status is RunStatus.QUEUED:  # created queued (a paused job): its job's queue
            rank = run.priority * PRIORITY_STEP
            item.update(GSI3PK=item["GSI1PK"], GSI3SK={"N": repr(run.created_at - rank)})
        elif run.expires_at is not None:  # created final (INVALID_PAYLOAD): listed by expiry
            item.update(GSI3PK={"S": f"EXPIRES#{shard}"}, GSI3SK={"N": repr(run.expires_at)})
        return item

    def create_run(self, run: RunRecord) -> bool:
        item = self._run_item(run)
        return self._put(
            item, "attribute_not_exists(PK)", "create_run",
            is_ours=lambda found: same_fields(found, item, RUN_FIELDS),
        )  # fmt: skip

    def acquire_lease(
        self,
        run_id: str,
        *,
        owner: str,
        now: float,
        lease_expires_at: float,
        expired_owner: str | None,
    ) -> RunRecord | None:
        # The lease, as one conditional update on the run item:
        #
        #   invocation A  |--lease A------------------| deadline A + grace
        #   invocation B        (gets nothing, leaves)
        #   invocation C                                 |--lease C (A expired: lost_leases+1)
        is_live = "attribute_exists(PK) AND NOT #status IN (:f0, :f1, :f2, :f3, :f4, :f5)"
        is_free = "attribute_not_exists(lease_owner)"
        is_expired = "(lease_owner = :expired AND lease_expires_at < :now)"
        condition = f"{is_live} AND {is_free if expired_owner is None else is_expired}"
        values = self._lease_values(run_id, owner, now, lease_expires_at)
        update = _LEASE_UPDATE
        if expired_owner is not None:
            values[":expired"] = {"S": expired_owner}
            update += ", lost_leases = if_not_exists(lost_leases, :zero) + :one"
        item = self._update(
            run_id, update, condition, values, "acquire_lease",
            is_ours=lambda found: found.get("lease_owner", {}).get("S") == owner,
        )  # fmt: skip
        return None if item is None else self._run(item)

    def lease_run(
        self, run_id: str, *, owner: str, now: float, lease_expires_at: float
    ) -> RunRecord | None:
        # acquire_lease's update with a free lease, refused (like the engine's read would)
        # while the run waits for a later resume_at: one UpdateItem instead of GetItem first.
        condition = (
            "attribute_exists(PK) AND NOT #status IN (:f0, :f1, :f2, :f3, :f4, :f5)"
            " AND attribute_not_exists(lease_owner)"
            " AND NOT (#status = :waiting AND resume_at > :now)"
        )
        values = self._lease_values(run_id, owner, now, lease_expires_at)
        values[":waiting"] = {"S": RunStatus.WAITING.value}
        item = self._update(
            run_id, _LEASE_UPDATE, condition, values, "lease_run",
            is_ours=lambda found: found.get("lease_owner", {}).get("S") == owner,
        )  # fmt: skip
        return None if item is None else self._run(item)

    def _lease_values(
        self, run_id: str, owner: str, now: float, lease_expires_at: float
    ) -> dict[str, Any]:
        """The values `_LEASE_UPDATE` and the live-run condition read."""
        return {
            ":executing": {"S": RunStatus.EXECUTING.value},
            ":owner": {"S": owner},
            ":exp": {"N": repr(lease_expires_at)},
            ":now": {"N": repr(now)},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":due": self._due_key(run_id),
            **final_values(),
        }

    def update_run(self, run_id: str, *, owner: str, changes: dict[str, Any]) -> bool:
        sets: list[str] = []
        removes: list[str] = []
        uploaded: dict[str, Any] = {}
        values: dict[str, Any] = {":owner": {"S": owner}, **final_values()}
        names = {"#status": "status"}
        for name, value in changes.items():
            if name not in RUN_FIELDS:
                raise ValueError(f"unknown run field {name!r}")
            if name == "output_json":
                room = MAX_INLINE_OUTPUT_BYTES if value is None else self._run_output_room(
                    run_id, value
                )
                stored = self._output_attributes(
                    value, run_id, "output", "run output", inline_limit=room
                )
                uploaded.update(stored)
                for attr in ("output_json", "output_ref"):
                    if attr in stored:
                        sets.append(f"{attr} = :{attr}")
                        values[f":{attr}"] = stored[attr]
                    else:
                        removes.append(attr)
                continue
            placeholder = f"#{name}"
            names[placeholder] = name
            if value is None:
                removes.append(placeholder)
            else:
                sets.append(f"{placeholder} = :{name}")
                values[f":{name}"] = encode(value, name)
            if name == "due_at":
                if value is None and changes.get("expires_at") is not None:
                    # A finished run with a retention: listed by expiry for the purge.
                    sets.extend(["GSI3PK = :expiring", "GSI3SK = :expires_key"])
                    values[":expiring"] = {"S": f"EXPIRES#{self.shard(run_id)}"}
                    values[":expires_key"] = {"N": repr(changes["expires_at"])}
                elif value is None:
                    removes.extend(["GSI3PK", "GSI3SK"])
                else:
                    sets.extend(["GSI3PK = :due", "GSI3SK = :due_at"])
                    values[":due"] = self._due_key(run_id)
        if changes.get("status") is RunStatus.QUEUED and changes.get("due_at", 0) is None:
            # Into the job's queue: the sparse due index keyed by the job's sharded key,
            # sorted by creation time (list_queued_runs), instead of the due partitions.
            # A named queue (core/queues.py) has its own sharded key; priority orders first.
            removes = [r for r in removes if r not in ("GSI3PK", "GSI3SK")]
            queue = changes.get("queue")
            if queue:
                sets.append("GSI3PK = :queue_key")
                values[":queue_key"] = {"S": f"JOB#{queue}#{self.shard(run_id)}"}
            else:
                sets.append("GSI3PK = GSI1PK")
            rank = int(changes.get("priority") or 0) * PRIORITY_STEP
            sets.append("GSI3SK = created_at - :rank" if rank else "GSI3SK = created_at")
            if rank:
                values[":rank"] = {"N": str(rank)}
        expression = ""
        if sets:
            expression += "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(dict.fromkeys(removes))
        condition = "lease_owner = :owner AND NOT #status IN (:f0, :f1, :f2, :f3, :f4, :f5)"
        written = {**{k: v for k, v in changes.items() if k != "output_json"}}

        def is_ours(found: dict[str, Any]) -> bool:
            stored = {a: found[a] for a in ("output_json", "output_ref") if a in found}
            wanted = {a: uploaded[a] for a in ("output_json", "output_ref") if a in uploaded}
            return (
                found.get("lease_owner", {}).get("S") in (owner, None)
                and same_fields(found, encoded(written), list(written))
                and ("output_json" not in changes or stored == wanted)
            )

        item = self._update(
            run_id, expression, condition, values, "update_run", names=names, is_ours=is_ours
        )
        if item is None:
            self._drop_blob(uploaded)
        return item is not None

    def _run_output_room(self, run_id: str, output_json: str) -> int:
        """Bytes a run's output may take inline beside the payload in the same item."""
        if len(output_json.encode()) + MAX_PAYLOAD_ROOM_BYTES <= MAX_INLINE_OUTPUT_BYTES:
            return MAX_INLINE_OUTPUT_BYTES
        item = self._get({"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "RUN"}})
        payload = (item or {}).get("payload_json", {}).get("S", "")
        return MAX_INLINE_OUTPUT_BYTES - len(payload.encode())

    def cancel_run(
        self, run_id: str, *, now: float, expires_at: float | None = None
    ) -> RunRecord | None:
        values = {":canceled": {"S": RunStatus.CANCELED.value}, ":now": {"N": repr(now)}}
        expiry = " REMOVE due_at, resume_at, GSI3PK, GSI3SK"
        if expires_at is not None:
            expiry = (", expires_at = :exp, GSI3PK = :expiring, GSI3SK = :exp"
                      " REMOVE due_at, resume_at")  # fmt: skip
            values.update({":exp": {"N": repr(expires_at)},
                           ":expiring": {"S": f"EXPIRES#{self.shard(run_id)}"}})  # fmt: skip
        item = self._update(
            run_id,
            "SET #status = :canceled, completed_at = :now, updated_at = :now" + expiry,
            "attribute_exists(PK) AND NOT #status IN (:f0, :f1, :f2, :f3, :f4, :f5)",
            {**values, **final_values()},
            "cancel_run",
            is_ours=lambda found: same_fields(
                found, encoded({"status": RunStatus.CANCELED, "completed_at": now,
                                 "updated_at": now}), ["status", "completed_at", "updated_at"]
            ),
        )  # fmt: skip
        return None if item is None else self._run(item)

    def wake_run(self, run_id: str, *, at: float, now: float | None = None) -> str:
        now = time.time() if now is None else now
        is_free = "(attribute_not_exists(lease_owner) OR lease_expires_at < :now)"
        item = self._update(
            run_id,
            "SET resume_at = :at, due_at = :at, GSI3PK = :due, GSI3SK = :at",
            f"#status IN (:waiting, :connections) AND {is_free}"
            " AND (attribute_not_exists(resume_at) OR resume_at > :at)",
            {":at": {"N": repr(at)}, ":now": {"N": repr(now)}, ":due": self._due_key(run_id),
             ":waiting": {"S": RunStatus.WAITING.value},
             ":connections": {"S": RunStatus.WAITING_ON_CONNECTIONS.value}},
            "wake_run",
            is_ours=lambda found: (found.get("status", {}).get("S") in _WAKEABLE
                                   and same_fields(found, encoded({"resume_at": at, "due_at": at}),
                                                    ["resume_at", "due_at"])),
        )  # fmt: skip
        if item is not None:
            return "woken"
        current = self.get_run(run_id)
        if current is None or current.status.is_final:
            return "unchanged"
        is_leased = current.lease_owner is not None and (
            current.lease_expires_at is None or current.lease_expires_at >= now
        )
        return "leased" if is_leased else "unchanged"

    def wake_queued_run(self, run_id: str, *, at: float) -> bool:
        item = self._update(
            run_id,
            "SET due_at = :at, GSI3PK = :due, GSI3SK = :at",
            "#status = :queued",
            {":at": {"N": repr(at)}, ":due": self._due_key(run_id),
             ":queued": {"S": RunStatus.QUEUED.value}},
            "wake_queued_run",
            is_ours=lambda found: same_fields(found, encoded({"due_at": at}), ["due_at"]),
        )  # fmt: skip
        return item is not None

    def retry_run(self, run_id: str, *, now: float) -> RunRecord | None:
        changes = retried_run_changes(now)
        names = {"#status": "status"}
        values: dict[str, Any] = {":failed": {"S": RunStatus.FAILED.value},
                                  ":timed_out": {"S": RunStatus.TIMED_OUT.value},
                                  ":due": self._due_key(run_id), ":due_at": {"N": repr(now)}}  # fmt: skip
        sets = ["GSI3PK = :due", "GSI3SK = :due_at", "retries = if_not_exists(retries, :zero) + :one"]
        removes = ["output_ref"]
        values.update({":zero": {"N": "0"}, ":one": {"N": "1"}})
        for name, value in changes.items():
            names[f"#{name}"] = name
            if value is None:
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :v_{name}")
                values[f":v_{name}"] = encode(value, name)
        item = self._update(
            run_id, "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
            "#status IN (:failed, :timed_out)", values, "retry_run", names=names,
            is_ours=lambda found: same_fields(found, encoded(changes), list(changes)),
        )  # fmt: skip
        return None if item is None else self._run(item)

    def move_hooks_due(self, run_id: str, *, expected: float, to: float | None) -> bool:
        values: dict[str, Any] = {":expected": {"N": repr(expected)}, **final_values()}
        condition = "#status IN (:f0, :f1, :f2, :f3, :f4, :f5) AND hooks_due_at = :expected"
        if to is None:
            expression = "REMOVE hooks_due_at, due_at, GSI3PK, GSI3SK"
        else:
            expression = "SET hooks_due_at = :to, due_at = :to, GSI3PK = :due, GSI3SK = :to"
            values.update({":to": {"N": repr(to)}, ":due": self._due_key(run_id)})
        item = self._update(
            run_id, expression, condition, values, "move_hooks_due",
            is_ours=lambda found: same_fields(found, encoded({"hooks_due_at": to}),
                                               ["hooks_due_at"]),
        )  # fmt: skip
        return item is not None
