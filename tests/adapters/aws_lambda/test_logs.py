"""JSON log lines on Lambda (issue 11): what the handler prints for CloudWatch Logs Insights.

The positive cases run the handler in a fresh interpreter, as a Lambda container would,
so the logging set-up starts from Python's defaults and the output is real stdout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from triggerfish.adapters.aws_lambda import create_handler
from triggerfish.adapters.aws_lambda.logs import install_json_logging, invocation_fields
from triggerfish.core import Client, ConfigError, SQLiteStore

HERE = Path(__file__).resolve().parent

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from triggerfish.adapters.aws_lambda import create_handler
    from triggerfish.core import Client, SQLiteStore, invoke_trigger

    client = Client("logs", store=SQLiteStore(sys.argv[1]))

    @client.define_job("report", trigger=invoke_trigger())
    async def report(payload, io, ctx):
        io.logger.info("building", rows=3)
        return await io.run_task("build", lambda: 3)

    handler = create_handler(client)
    loop = handler._event_loop()
    run = loop.run_until_complete(client.invoke("report", {}))
    record = json.load(open(sys.argv[2]))["Records"][0]
    record["body"] = json.dumps({"type": "resume", "run_id": run.id, "at": 0})

    class Context:
        aws_request_id = "req-0123"
        function_name = "logs-worker"
        memory_limit_in_mb = "1024"
        invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:logs-worker"
        def get_remaining_time_in_millis(self):
            return 10_000

    result = handler({"Records": [record]}, Context())
    print(json.dumps({"result": result, "run_id": run.id}), file=sys.stderr)
    """
)


def run_handler(tmp_path: Path, **env: str) -> tuple[list[str], dict[str, Any]]:
    """Runs one SQS resume event through a fresh handler; its stdout lines and summary."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRIGGERFISH_"))}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "runs.db"),
         str(HERE / "events" / "sqs_single.json")],
        env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    return done.stdout.splitlines(), summary


def test_an_sqs_resume_on_lambda_logs_json_lines_with_the_run_id(tmp_path: Path) -> None:
    lines, summary = run_handler(tmp_path, AWS_LAMBDA_FUNCTION_NAME="triggerfish-worker")

    assert summary["result"] == {"batchItemFailures": []}
    parsed = [json.loads(line) for line in lines]
    assert parsed, "the handler logged nothing"
    for line in parsed:
        assert {"timestamp", "level", "logger", "message"} <= set(line)
    run_id = summary["run_id"]
    for line in parsed:
        if "run_id" in line:
            assert line["request_id"] == "req-0123", "lines of the invocation carry its id"
    (invocation,) = [p for p in parsed if p["logger"] == "triggerfish.core.engine"]
    assert invocation["run_id"] == run_id and invocation["job_id"] == "report"
    assert invocation["invocation"] == 1 and invocation["status"] == "COMPLETED"
    assert invocation["level"] == "INFO"
    (user_line,) = [p for p in parsed if p["logger"] == "triggerfish.runs"]
    assert user_line["run_id"] == run_id and user_line["fields"] == {"rows": 3}
    assert user_line["job_id"] == "report"
    assert user_line["message"].startswith("building")


def test_lines_carry_the_keys_of_powertools_logger_with_the_run(tmp_path: Path) -> None:
    """AWS Lambda Powertools' Logger keys (issue 20), so one Logs Insights query reads both."""
    lines, summary = run_handler(
        tmp_path, AWS_LAMBDA_FUNCTION_NAME="logs-worker", POWERTOOLS_SERVICE_NAME="billing",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    )  # fmt: skip
    parsed = [json.loads(line) for line in lines]
    (user_line,) = [p for p in parsed if p["logger"] == "triggerfish.runs"]
    assert user_line["level"] == "INFO" and user_line["message"].startswith("building")
    assert user_line["service"] == "billing"
    assert user_line["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert user_line["cold_start"] is True
    assert user_line["function_name"] == "logs-worker"
    assert user_line["function_request_id"] == user_line["request_id"] == "req-0123"
    assert user_line["function_memory_size"] == 1024
    assert user_line["function_arn"].endswith(":function:logs-worker")
    assert (user_line["run_id"], user_line["job_id"]) == (summary["run_id"], "report")
    # Powertools' `use_rfc3339` timestamp: ISO 8601 with milliseconds and the UTC offset
    stamp = datetime.fromisoformat(user_line["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", user_line["timestamp"])


def test_service_is_the_client_id_and_no_trace_id_without_the_variables(tmp_path: Path) -> None:
    lines, _ = run_handler(tmp_path, AWS_LAMBDA_FUNCTION_NAME="logs-worker")
    parsed = [json.loads(line) for line in lines]
    assert parsed and {line["service"] for line in parsed} == {"logs"}
    assert not any("xray_trace_id" in line for line in parsed)


def test_cold_start_is_true_for_the_first_invocation_only(tmp_path: Path) -> None:
    class Context:
        aws_request_id = "req-1"
        function_name = "fn"

        def get_remaining_time_in_millis(self) -> int:
            return 10_000

    client = Client("cold", store=SQLiteStore(tmp_path / "runs.db"))
    handler = create_handler(client, environ={"_X_AMZN_TRACE_ID": "Root=1-abc-def;Sampled=0"})
    seen = []
    for _ in range(2):
        handler({"unknown": True}, Context())
        seen.append(dict(invocation_fields.get() or {}))
    assert [fields["cold_start"] for fields in seen] == [True, False]
    assert {fields["xray_trace_id"] for fields in seen} == {"1-abc-def"}
    assert seen[0]["function_name"] == "fn" and seen[0]["function_request_id"] == "req-1"


def test_off_lambda_or_with_text_format_nothing_is_printed(tmp_path: Path) -> None:
    lines, _ = run_handler(tmp_path)
    assert lines == []
    lines, _ = run_handler(
        tmp_path, AWS_LAMBDA_FUNCTION_NAME="fn", TRIGGERFISH_LOG_FORMAT="text"
    )
    assert lines == []


def test_logging_the_user_configured_is_left_alone() -> None:
    import logging

    logger = logging.getLogger("triggerfish")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        assert install_json_logging({"AWS_LAMBDA_FUNCTION_NAME": "fn"}) is False
        assert logger.handlers == [handler]
    finally:
        logger.removeHandler(handler)


def test_an_unknown_log_format_names_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigError, match="TRIGGERFISH_LOG_FORMAT must be one of json, text"):
        install_json_logging({"AWS_LAMBDA_FUNCTION_NAME": "fn", "TRIGGERFISH_LOG_FORMAT": "xml"})
