"""serverless.yml packages offline (osls) into a CloudFormation template that cfn-lint accepts.

The template is checked against DESIGN.md: the table comes from core/store/table.json,
the queue has a dead-letter queue, the three functions share one handler and one jobs
module, and the IAM policy names exact actions.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from deploy_tools import ROOT, built_artifact, cfn_lint, osls

TABLE_DEFINITION = json.loads((ROOT / "core" / "store" / "table.json").read_text())
TEMPLATE_NAME = "cloudformation-template-update-stack.json"
CFN_LINT_ERROR_BIT = 2
FUNCTIONS = ("ApiLambdaFunction", "WorkerLambdaFunction", "TickerLambdaFunction")
ENVIRONMENT = {
    "TRIGGERFISH_TABLE",
    "TRIGGERFISH_QUEUE_URL",
    "TRIGGERFISH_BUCKET",
    "TRIGGERFISH_REGION",
    "TRIGGERFISH_API_KEY",
    "TRIGGERFISH_JOBS",
}


def _package(out_dir: Path, *params: str) -> Path:
    """Run `osls package` into out_dir (never the work tree's .serverless/)."""
    command = [str(osls()), "package", "--stage", "test", "--package", str(out_dir)]
    command += [f"--param={param}" for param in params]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out_dir / TEMPLATE_NAME


@pytest.fixture(scope="module")
def template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stack template packaged once, with the real x86_64 artifact."""
    artifact = built_artifact("x86_64")
    return _package(tmp_path_factory.mktemp("package"), f"artifact={artifact}")


@pytest.fixture(scope="module")
def resources(template_path: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(template_path.read_text())
    return template["Resources"]  # type: ignore[no-any-return]


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def _statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for role in _of_type(resources, "AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            found += policy["PolicyDocument"]["Statement"]
    return found


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_cfn_lint_reports_no_error_on_the_packaged_template(template_path: Path) -> None:
    result = subprocess.run(
        [str(cfn_lint()), str(template_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode & CFN_LINT_ERROR_BIT == 0, result.stdout + result.stderr


def test_table_keys_and_indexes_are_the_ones_of_table_json(resources: dict[str, Any]) -> None:
    (table,) = _of_type(resources, "AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"):
        assert properties[key] == TABLE_DEFINITION[key]


def test_table_is_on_demand_with_ttl_and_point_in_time_recovery(
    resources: dict[str, Any],
) -> None:
    (table,) = _of_type(resources, "AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == TABLE_DEFINITION["TimeToLiveSpecification"]
    assert properties["TimeToLiveSpecification"]["Enabled"] is True
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_queue_redrives_to_a_dead_letter_queue_after_the_worker_timeout(
    resources: dict[str, Any],
) -> None:
    queue = resources["RunsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["RunsDeadLetterQueue", "Arn"]
    }
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 2
    assert resources["RunsDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    worker_timeout = resources["WorkerLambdaFunction"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= worker_timeout


def test_worker_reads_the_queue_in_small_batches_reporting_item_failures(
    resources: dict[str, Any],
) -> None:
    (mapping,) = _of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert properties["EventSourceArn"] == {"Fn::GetAtt": ["RunsQueue", "Arn"]}
    assert properties["FunctionName"] == {"Fn::GetAtt": ["WorkerLambdaFunction", "Arn"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BatchSize"] <= 10


def test_ticker_runs_every_minute(resources: dict[str, Any]) -> None:
    (rule,) = _of_type(resources, "AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["TickerLambdaFunction", "Arn"]}


def test_http_api_routes_every_request_to_the_api_function(resources: dict[str, Any]) -> None:
    (route,) = _of_type(resources, "AWS::ApiGatewayV2::Route").values()
    assert route["Properties"]["RouteKey"] == "$default"
    (integration,) = _of_type(resources, "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    assert integration["Properties"]["IntegrationUri"] == {
        "Fn::GetAtt": ["ApiLambdaFunction", "Arn"]
    }


def test_functions_share_one_handler_runtime_and_jobs_module(resources: dict[str, Any]) -> None:
    functions = [resources[name]["Properties"] for name in FUNCTIONS]
    assert {f["Handler"] for f in functions} == {"lambda_entry.handler"}
    assert {f["Runtime"] for f in functions} == {"python3.12"}
    assert {tuple(f["Architectures"]) for f in functions} == {("x86_64",)}
    for function in functions:
        variables = function["Environment"]["Variables"]
        assert ENVIRONMENT <= set(variables)
        assert variables["TRIGGERFISH_JOBS"] == "examples.jobs:client"
        assert variables["TRIGGERFISH_API_KEY"] == "{{resolve:ssm:/triggerfish/test/api-key}}"


def test_api_answers_within_http_api_limit_and_worker_gets_fifteen_minutes(
    resources: dict[str, Any],
) -> None:
    assert resources["ApiLambdaFunction"]["Properties"]["Timeout"] <= 30
    assert resources["WorkerLambdaFunction"]["Properties"]["Timeout"] == 900


def test_bucket_expires_large_outputs_and_blocks_public_access(
    resources: dict[str, Any],
) -> None:
    bucket = resources["OutputsBucket"]["Properties"]
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any(rule["Status"] == "Enabled" and rule["ExpirationInDays"] > 0 for rule in rules)
    assert all(bucket["PublicAccessBlockConfiguration"].values())


def test_iam_policy_names_exact_actions_and_no_transactions(resources: dict[str, Any]) -> None:
    actions = [action for s in _statements(resources) for action in _actions(s)]
    assert actions
    assert [action for action in actions if "*" in action] == []
    assert "dynamodb:TransactWriteItems" not in actions
    for needed in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                   "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem",
                   "sqs:SendMessage", "s3:GetObject", "s3:PutObject"):  # fmt: skip
        assert needed in actions


def test_iam_policy_grants_only_this_service_s_table_queue_and_bucket(
    resources: dict[str, Any],
) -> None:
    allowed_refs = {"JobsTable", "RunsQueue", "OutputsBucket"}
    for statement in _statements(resources):
        services = {action.split(":")[0] for action in _actions(statement)}
        if services & {"dynamodb", "sqs", "s3"}:
            text = json.dumps(statement["Resource"])
            assert any(ref in text for ref in allowed_refs), statement
            assert '"*"' not in text


def test_architecture_and_jobs_module_are_set_in_one_place(tmp_path: Path) -> None:
    template_path = _package(
        tmp_path, "architecture=arm64", f"artifact={built_artifact('arm64')}",
        "jobsModule=acme_jobs.jobs:client", "apiKey=secret-for-a-throwaway-stage",
    )  # fmt: skip
    resources = json.loads(template_path.read_text())["Resources"]
    for name in FUNCTIONS:
        properties = resources[name]["Properties"]
        assert properties["Architectures"] == ["arm64"]
        variables = properties["Environment"]["Variables"]
        assert variables["TRIGGERFISH_JOBS"] == "acme_jobs.jobs:client"
        assert variables["TRIGGERFISH_API_KEY"] == "secret-for-a-throwaway-stage"
        assert properties["Code"]["S3Key"].endswith("/triggerfish-arm64.zip")


def test_snapstart_is_off_unless_the_snapstart_param_is_set(resources: dict[str, Any]) -> None:
    for name in FUNCTIONS:
        assert "SnapStart" not in resources[name]["Properties"]
    assert not _of_type(resources, "AWS::Lambda::Alias")


def test_snapstart_param_turns_it_on_for_published_versions_behind_an_alias(
    tmp_path: Path,
) -> None:
    template_path = _package(tmp_path, "snapStart=true", f"artifact={built_artifact('x86_64')}")
    resources = json.loads(template_path.read_text())["Resources"]
    for name in FUNCTIONS:
        properties = resources[name]["Properties"]
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert properties["Runtime"] == "python3.12"
    aliases = _of_type(resources, "AWS::Lambda::Alias").values()
    assert len(aliases) == len(FUNCTIONS)
    (alias_name,) = {alias["Properties"]["Name"] for alias in aliases}
    # Queue messages reach the alias (the restored snapshot), never $LATEST, which has none.
    (mapping,) = _of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionName"] == {
        "Fn::Join": [":", [{"Fn::GetAtt": ["WorkerLambdaFunction", "Arn"]}, alias_name]]
    }


API_URL = {"Fn::Join": ["", ["https://", {"Ref": "HttpApi"}, ".execute-api.",
                             {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]}  # fmt: skip
"""This stack's HTTP API URL (the `$default` stage has no path), from the API resource alone."""


def test_worker_and_ticker_get_the_stack_s_own_api_url_as_triggerfish_base_url(
    resources: dict[str, Any],
) -> None:
    # The worker serves no HTTP request, so io.wait_for_request needs the URL given (issue
    # 21); the api function learns it from the requests it serves.
    for name in ("WorkerLambdaFunction", "TickerLambdaFunction"):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["TRIGGERFISH_BASE_URL"] == API_URL
    api_variables = resources["ApiLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert "TRIGGERFISH_BASE_URL" not in api_variables
    # No cycle: the API resource refers to no function.
    assert "LambdaFunction" not in json.dumps(resources["HttpApi"])


def test_base_url_param_names_a_custom_domain_instead(tmp_path: Path) -> None:
    template_path = _package(
        tmp_path, "baseUrl=https://jobs.example.com", f"artifact={built_artifact('x86_64')}"
    )
    resources = json.loads(template_path.read_text())["Resources"]
    variables = resources["WorkerLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["TRIGGERFISH_BASE_URL"] == "https://jobs.example.com"
