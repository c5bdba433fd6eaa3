"""`DynamoDBConnections`: connections and the connection-wait index in the one table.

    PK                       SK               what
    CONNECTIONS              CONNECTION#<name> a connection: sealed credentials, times
    CONNWAIT#<name>#<n>      RUN#<run id>      a run WAITING_ON_CONNECTIONS on <name>

Connections are few and written rarely (by a person or a deploy), so they share one
partition, read by one Query for the dashboard's list. The waits are sharded by run id
(`n`, as the run indexes: docs/scale.md), so many runs waiting on one connection spread
over `shards` partitions; `set_connection` reads every shard.
"""

from __future__ import annotations

from typing import Any

from .base import ConnectionRecord, ConnectionWaitRecord
from .dynamodb_table import DynamoDBTable
from .items import field_values, item_attributes, same_fields

CONNECTION_FIELDS = ["name", "sealed", "created_at", "updated_at"]
CONNECTION_WAIT_FIELDS = ["name", "run_id", "created_at"]
CONNECTIONS_PARTITION = "CONNECTIONS"


class DynamoDBConnections(DynamoDBTable):
    """Connections (conditional on time) and the runs waiting on them."""

    def _connection_key(self, name: str) -> dict[str, Any]:
        return {"PK": {"S": CONNECTIONS_PARTITION}, "SK": {"S": f"CONNECTION#{name}"}}

    def put_connection(self, connection: ConnectionRecord) -> bool:
        item = item_attributes(connection, CONNECTION_FIELDS)
        item.update(self._connection_key(connection.name))
        return self._put(
            item, "attribute_not_exists(PK) OR updated_at <= :updated_at", "put_connection",
            values={":updated_at": item["updated_at"]},
            is_ours=lambda found: same_fields(found, item, CONNECTION_FIELDS),
        )  # fmt: skip

    def get_connection(self, name: str) -> ConnectionRecord | None:
        item = self._get(self._connection_key(name))
        return None if item is None else ConnectionRecord(**field_values(item, CONNECTION_FIELDS))

    def list_connections(self) -> list[ConnectionRecord]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": CONNECTIONS_PARTITION},
                                          ":prefix": {"S": "CONNECTION#"}},
            "ConsistentRead": True,
        }  # fmt: skip
        found: list[ConnectionRecord] = []
        while True:
            page = self._call("list_connections", self._db.query, **request)
            found.extend(ConnectionRecord(**field_values(item, CONNECTION_FIELDS))
                         for item in page.get("Items", []))  # fmt: skip
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _connection_wait_key(self, name: str, run_id: str) -> dict[str, Any]:
        return {"PK": {"S": f"CONNWAIT#{name}#{self.shard(run_id)}"},
                "SK": {"S": f"RUN#{run_id}"}}  # fmt: skip

    def put_connection_wait(self, wait: ConnectionWaitRecord) -> bool:
        item = item_attributes(wait, CONNECTION_WAIT_FIELDS)
        item.update(self._connection_wait_key(wait.name, wait.run_id))
        return self._put(
            item, "attribute_not_exists(PK)", "put_connection_wait",
            is_ours=lambda found: same_fields(found, item, CONNECTION_WAIT_FIELDS),
        )  # fmt: skip

    def list_connection_waits(self, name: str) -> list[ConnectionWaitRecord]:
        def shard_waits(shard: int) -> list[ConnectionWaitRecord]:
            request: dict[str, Any] = {
                "TableName": self.table_name,
                "KeyConditionExpression": "PK = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"CONNWAIT#{name}#{shard}"}},
                "ConsistentRead": True,
            }
            waits: list[ConnectionWaitRecord] = []
            while True:
                page = self._call("list_connection_waits", self._db.query, **request)
                for item in page.get("Items", []):
                    values = field_values(item, CONNECTION_WAIT_FIELDS)
                    if values.get("name") == name:  # "a#1" and "a" with shard "1#1" share no key
                        waits.append(ConnectionWaitRecord(**values))
                if "LastEvaluatedKey" not in page:
                    return waits
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        found = [w for waits in self._each(shard_waits, range(self.shards)) for w in waits]
        return sorted(found, key=lambda wait: wait.run_id)

    def delete_connection_wait(self, name: str, run_id: str) -> None:
        self._call("delete_connection_wait", self._db.delete_item, TableName=self.table_name,
                   Key=self._connection_wait_key(name, run_id))  # fmt: skip
