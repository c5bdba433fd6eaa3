"""`triggerfish init-table`: the DynamoDB table, made from the one table definition."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from triggerfish.core.settings import ENV_ENDPOINT_URL, ENV_REGION, ENV_TABLE

from .base import CLIError

if TYPE_CHECKING:
    from .base import Commands


def add_parser(commands: Commands) -> None:
    """`init-table [--table --endpoint-url --region]`."""
    init = commands.add_parser("init-table", help="create the DynamoDB table")
    init.add_argument("--table", default=os.environ.get(ENV_TABLE),
                      help=f"table name (env {ENV_TABLE})")
    init.add_argument("--endpoint-url", default=os.environ.get(ENV_ENDPOINT_URL),
                      help=f"DynamoDB endpoint, e.g. moto or dynalite (env {ENV_ENDPOINT_URL})")
    init.add_argument("--region", default=os.environ.get(ENV_REGION),
                      help=f"AWS region (env {ENV_REGION})")
    init.set_defaults(command=_init_table)


def _init_table(args: argparse.Namespace) -> int:
    if not args.table:
        raise CLIError(f"init-table needs a table name: pass --table or set {ENV_TABLE}")
    try:
        from botocore.exceptions import BotoCoreError, ClientError
        from triggerfish.core import DynamoDBStore, StoreError
    except ImportError as exc:
        raise CLIError(f"init-table needs boto3: pip install 'triggerfish[aws]' ({exc})") from exc
    try:
        store = DynamoDBStore(args.table, endpoint_url=args.endpoint_url, region=args.region)
        created = store.create_table()
    except (StoreError, BotoCoreError, ClientError) as exc:
        raise CLIError(f"cannot create table {args.table!r}: {exc}") from exc
    where = f" at {args.endpoint_url}" if args.endpoint_url else ""
    state = "created" if created else "already exists"
    print(f"table {args.table!r}{where}: {state}")
    return 0
