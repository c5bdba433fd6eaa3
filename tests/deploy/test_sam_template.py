"""template.yaml (AWS SAM) describes the same service as serverless.yml, and cfn-lint accepts it.

serverless.yml is packaged offline (osls) into its CloudFormation template; the SAM
template is read as it stands (its short tags decoded by cfn-lint). Both must hold the same
table (and that table must be core/store/table.json's), the same queue and dead-letter
queue, bucket, functions, events, log retention and IAM statements (issue 20, item 5).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode
from deploy_tools import ROOT, cfn_lint, osls

TABLE_DEFINITION = json.loads((ROOT / "core" / "store" / "table.json").read_text())
SAM_TEMPLATE = ROOT / "template.yaml"
IAM_STATEMENTS = ROOT / "deploy" / "iam.yml"
FUNCTIONS = {"ApiFunction": "ApiLambdaFunction", "WorkerFunction": "WorkerLambdaFunction",
             "TickerFunction": "TickerLambdaFunction"}  # fmt: skip
SHARED = ("JobsTable", "RunsQueue", "RunsDeadLetterQueue", "OutputsBucket")


def _decode(path: Path) -> dict[str, Any]:
    """A YAML file with CloudFormation's short tags (!Ref, !GetAtt) as plain JSON values."""
    decoded, problems = decode(str(path))
    assert not problems, problems
    plain: dict[str, Any] = json.loads(json.dumps(decoded))
    return plain


def _with_defaults(value: Any, parameters: dict[str, Any]) -> Any:
    """`value` with each {"Ref": parameter} replaced by that parameter's default."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]["Default"]
        return {key: _with_defaults(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_defaults(item, parameters) for item in value]
    return value


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return _decode(SAM_TEMPLATE)


@pytest.fixture(scope="module")
def sam_resources(sam: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = _with_defaults(sam["Resources"], sam["Parameters"])
    return resources


@pytest.fixture(scope="module")
def sls_resources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """serverless.yml packaged offline; the artifact is a stand-in zip (only its path counts)."""
    scratch = tmp_path_factory.mktemp("sls")
    artifact = scratch / "triggerfish-x86_64.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr("lambda_entry.py", "def handler(event, context): ...\n")
    out_dir = scratch / "package"
    command = [str(osls()), "package", "--stage", "test", "--package", str(out_dir),
               f"--param=artifact={artifact}"]  # fmt: skip
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    template = json.loads((out_dir / "cloudformation-template-update-stack.json").read_text())
    resources: dict[str, Any] = template["Resources"]
    return resources


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def _function(sam: dict[str, Any], name: str) -> dict[str, Any]:
    """A SAM function's properties with the template's Globals merged in."""
    merged = dict(sam["Globals"]["Function"])
    own = sam["Resources"][name]["Properties"]
    merged.update(own)
    # SAM merges a function's environment variables into the global ones.
    variables = {**merged.get("Environment", {}).get("Variables", {})}
    variables.update(sam["Globals"]["Function"]["Environment"]["Variables"])
    variables.update(own.get("Environment", {}).get("Variables", {}))
    merged["Environment"] = {"Variables": variables}
    merged = _with_defaults(merged, sam["Parameters"])
    return merged


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"]
            for s in policy["PolicyDocument"]["Statement"]]  # fmt: skip


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_cfn_lint_reports_nothing_on_the_sam_template() -> None:
    result = subprocess.run(
        [str(cfn_lint()), str(SAM_TEMPLATE)], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sam_template_uses_the_serverless_transform(sam: dict[str, Any]) -> None:
    assert sam["Transform"] == "AWS::Serverless-2016-10-31"
    assert _of_type(sam["Resources"], "AWS::Serverless::Function").keys() == FUNCTIONS.keys()


def test_table_is_table_json_and_the_same_as_serverless_yml_s(
    sam_resources: dict[str, Any], sls_resources: dict[str, Any]
) -> None:
    table = sam_resources["JobsTable"]
    for key, value in TABLE_DEFINITION.items():
        assert table["Properties"][key] == value, key
    assert table == sls_resources["JobsTable"]


def test_queues_and_bucket_are_the_same_as_serverless_yml_s(
    sam_resources: dict[str, Any], sls_resources: dict[str, Any]
) -> None:
    for name in ("RunsQueue", "RunsDeadLetterQueue", "OutputsBucket"):
        assert sam_resources[name] == sls_resources[name], name
    redrive = sam_resources["RunsQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["RunsDeadLetterQueue", "Arn"]}


def test_functions_have_serverless_yml_s_handler_runtime_timeouts_and_variables(
    sam: dict[str, Any], sls_resources: dict[str, Any]
) -> None:
    for sam_name, sls_name in FUNCTIONS.items():
        ours = _function(sam, sam_name)
        theirs = sls_resources[sls_name]["Properties"]
        for key in ("Handler", "Runtime", "Timeout", "MemorySize", "Architectures"):
            assert ours[key] == theirs[key], (sam_name, key)
        variables = ours["Environment"]["Variables"]
        assert variables.keys() == theirs["Environment"]["Variables"].keys()
        assert variables["TRIGGERFISH_JOBS"] == "examples.jobs:client"
        assert ours["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
        (architecture,) = ours["Architectures"]
        assert ours["CodeUri"] == f"dist/lambda/triggerfish-{architecture}.zip"


def test_events_are_serverless_yml_s_http_api_queue_and_schedule(
    sam: dict[str, Any], sls_resources: dict[str, Any]
) -> None:
    resources = sam["Resources"]
    (http,) = resources["ApiFunction"]["Properties"]["Events"].values()
    assert http["Type"] == "HttpApi"  # SAM's HTTP API speaks payload 2.0, as serverless.yml's
    (integration,) = _of_type(sls_resources, "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"

    (queue,) = resources["WorkerFunction"]["Properties"]["Events"].values()
    (mapping,) = _of_type(sls_resources, "AWS::Lambda::EventSourceMapping").values()
    assert queue["Type"] == "SQS"
    assert queue["Properties"]["Queue"] == mapping["Properties"]["EventSourceArn"]
    assert queue["Properties"]["BatchSize"] == mapping["Properties"]["BatchSize"]
    assert queue["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    (schedule,) = resources["TickerFunction"]["Properties"]["Events"].values()
    (rule,) = _of_type(sls_resources, "AWS::Events::Rule").values()
    assert schedule["Type"] == "Schedule"
    assert schedule["Properties"]["Schedule"] == rule["Properties"]["ScheduleExpression"]


def test_log_groups_keep_serverless_yml_s_retention_and_names(
    sam_resources: dict[str, Any], sls_resources: dict[str, Any]
) -> None:
    ours = _of_type(sam_resources, "AWS::Logs::LogGroup")
    theirs = _of_type(sls_resources, "AWS::Logs::LogGroup")
    assert ours.keys() == theirs.keys() == {"ApiLogGroup", "WorkerLogGroup", "TickerLogGroup"}
    for name, group in ours.items():
        assert group["Properties"]["RetentionInDays"] == theirs[name]["Properties"][
            "RetentionInDays"
        ]
        # /aws/lambda/<stack>-api, as serverless names its /aws/lambda/<service>-<stage>-api
        suffix = theirs[name]["Properties"]["LogGroupName"].rsplit("-", 1)[1]
        assert group["Properties"]["LogGroupName"] == {
            "Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{suffix}"
        }


def test_iam_grants_deploy_iam_yml_s_statements_and_only_log_writes_besides(
    sam_resources: dict[str, Any], sls_resources: dict[str, Any]
) -> None:
    (role,) = _of_type(sam_resources, "AWS::IAM::Role").values()
    statements = _statements(role)
    shared = _decode(IAM_STATEMENTS)["statements"]
    assert [s for s in statements if s.get("Sid") != "TriggerfishLogs"] == shared
    (sls_role,) = _of_type(sls_resources, "AWS::IAM::Role").values()
    assert all(statement in _statements(sls_role) for statement in shared)

    (logs,) = [s for s in statements if s.get("Sid") == "TriggerfishLogs"]
    assert sorted(_actions(logs)) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"] == [{"Fn::GetAtt": [name, "Arn"]}
                                for name in ("ApiLogGroup", "WorkerLogGroup", "TickerLogGroup")]  # fmt: skip
    actions = [action for statement in statements for action in _actions(statement)]
    assert [action for action in actions if "*" in action] == []
    assert "dynamodb:TransactWriteItems" not in actions


def test_the_same_stateful_resources_as_serverless_yml_bar_its_deployment_bucket(
    sam_resources: dict[str, Any], sls_resources: dict[str, Any]
) -> None:
    kinds = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket",
             "AWS::Logs::LogGroup", "AWS::IAM::Role")  # fmt: skip

    def inventory(resources: dict[str, Any]) -> list[str]:
        return sorted(
            f"{res['Type']} {name}" for name, res in resources.items()
            if res["Type"] in kinds and not name.startswith("ServerlessDeployment")
        )  # fmt: skip

    def without_role_names(entries: list[str]) -> list[str]:
        return [entry.split()[0] if entry.startswith("AWS::IAM::Role") else entry
                for entry in entries]  # fmt: skip

    assert without_role_names(inventory(sam_resources)) == without_role_names(
        inventory(sls_resources)
    )
    for name in SHARED:
        assert name in sam_resources


def test_outputs_name_the_table_queues_bucket_and_the_api_url(sam: dict[str, Any]) -> None:
    outputs = _decode(ROOT / "deploy" / "resources.yml")["Outputs"]
    assert {name: sam["Outputs"][name] for name in outputs} == outputs
    assert "ServerlessHttpApi" in json.dumps(sam["Outputs"]["TriggerfishApiUrl"])


def test_worker_and_ticker_get_the_api_url_as_serverless_yml_s_do_without_a_cycle(
    sam: dict[str, Any], sls_resources: dict[str, Any]
) -> None:
    for sam_name, sls_name in FUNCTIONS.items():
        ours = _function(sam, sam_name)["Environment"]["Variables"].get("TRIGGERFISH_BASE_URL")
        theirs = sls_resources[sls_name]["Properties"]["Environment"]["Variables"].get(
            "TRIGGERFISH_BASE_URL"
        )
        if theirs is None:  # the api function: SAM's HTTP API embeds its ARN (a cycle)
            assert sam_name == "ApiFunction" and ours is None
            continue
        # With BaseUrl left empty, the same URL built from SAM's implicit HTTP API.
        assert ours == {"Fn::If": ["HasBaseUrl", "", json.loads(
            json.dumps(theirs).replace('"HttpApi"', '"ServerlessHttpApi"'))]}  # fmt: skip
