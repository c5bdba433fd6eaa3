"""JSON log lines on Lambda (issue 11): what the handler prints for CloudWatch Logs Insights.

The positive cases run the handler in a fresh interpreter, as a Lambda container would,
so the logging set-up starts from Python's defaults and the output is real stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from triggerfish.adapters.aws_lambda.logs import install_json_logging
from triggerfish.core import ConfigError

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
    assert invocation["level"] == "INFO" and invocation["timestamp"].endswith("Z")
    (user_line,) = [p for p in parsed if p["logger"] == "triggerfish.runs"]
    assert user_line["run_id"] == run_id and user_line["fields"] == {"rows": 3}
    assert user_line["message"].startswith("building")


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
