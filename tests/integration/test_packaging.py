"""The AWS template: `chalice package` + the infra/ merge, for every stage, read back and linted.

Packages a copy of the project (app, chalicelib, requirements, .chalice/config.json, policies) in a
temporary folder with infra/package.py, as `make package` does; `chalice package` downloads Lambda
wheels (PyPI, or build/wheelhouse with PIP_NO_INDEX=1).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from infra.definitions import resources
from infra.package import package, queue_name_of, sqs_event_sources
from infra.stages import ROOT, chalice_config, function_name, resource_prefix, stage_names

CONFIG = chalice_config()
STAGES = stage_names(CONFIG)
PROJECT_FILES = ("app.py", "requirements.txt", "chalicelib", ".chalice/config.json", "policies")


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> dict[str, tuple[dict[str, Any], Path]]:
    project = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        source, target = ROOT / name, project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    out = tmp_path_factory.mktemp("build")
    templates = {}
    for stage in STAGES:
        path = package(stage, out, project_dir=project, lint=False)
        templates[stage] = (json.loads(path.read_text(encoding="utf-8")), path)
    return templates


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def dead_letter_queue_ids(template: dict[str, Any], stage: str) -> set[str]:
    """Queues some redrive policy targets, plus the node command queues' shared one (those queues are
    created per node at registration, so the template names the target only through the definitions)."""
    queues = of_type(template, "AWS::SQS::Queue")
    targets = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
               for q in queues.values() if "RedrivePolicy" in q["Properties"]}
    shared = f"{resource_prefix(CONFIG, stage)}-{resources()['node_command_queue']['dead_letter']}"
    return targets | {k for k, q in queues.items() if q["Properties"]["QueueName"] == shared}


def handler_of(function: dict[str, Any]) -> str:
    handler = function["Properties"]["Handler"]
    return "api_handler" if handler == "app.app" else handler.rsplit(".", 1)[-1]


@pytest.mark.parametrize("stage", STAGES)
def test_R30_every_sqs_event_source_reports_batch_item_failures(packaged, stage):
    from chalice.app import SQSEventConfig

    from app import app
    template, _ = packaged[stage]
    sources = sqs_event_sources(template)
    functions = of_type(template, "AWS::Serverless::Function")
    assert {handler_of(functions[f]) for f, _, _ in sources} == {
        s.name for s in app.event_sources if isinstance(s, SQSEventConfig)}
    for function_id, event_id, properties in sources:
        assert properties.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], (function_id, event_id)


@pytest.mark.parametrize("stage", STAGES)
def test_R30_every_queue_but_a_dead_letter_queue_redrives_to_one_after_bounded_tries(packaged, stage):
    template, _ = packaged[stage]
    queues = of_type(template, "AWS::SQS::Queue")
    prefix = resource_prefix(CONFIG, stage)
    assert {q["Properties"]["QueueName"] for q in queues.values()} == {f"{prefix}-{k}" for k in resources()["queues"]}
    dead_letter_queues = dead_letter_queue_ids(template, stage)
    assert dead_letter_queues
    for logical_id, queue in queues.items():
        if logical_id in dead_letter_queues:
            continue
        policy = queue["Properties"].get("RedrivePolicy")
        assert policy, f"{logical_id} has no dead-letter queue"
        assert policy["deadLetterTargetArn"] == {"Fn::GetAtt": [policy["deadLetterTargetArn"]["Fn::GetAtt"][0], "Arn"]}
        assert policy["deadLetterTargetArn"]["Fn::GetAtt"][0] in dead_letter_queues
        assert 1 <= policy["maxReceiveCount"] <= 10


@pytest.mark.parametrize("stage", STAGES)
def test_sqs_functions_read_queues_the_template_creates_after_them_and_outlast_their_runs(packaged, stage):
    template, _ = packaged[stage]
    queues = {q["Properties"]["QueueName"]: (k, q) for k, q in of_type(template, "AWS::SQS::Queue").items()}
    for function_id, event_id, properties in sqs_event_sources(template):
        name = queue_name_of(properties["Queue"])
        assert name in queues, f"{function_id} reads {name}, which the template does not create"
        logical_id, queue = queues[name]
        function = template["Resources"][function_id]
        assert logical_id in function["DependsOn"]
        # Lambda refuses an SQS source whose visibility timeout is shorter than the function's timeout.
        assert queue["Properties"].get("VisibilityTimeout", 30) >= function["Properties"]["Timeout"]


@pytest.mark.parametrize("stage", STAGES)
def test_tables_and_indexes_match_infra_resources_json(packaged, stage):
    template, _ = packaged[stage]
    prefix = resource_prefix(CONFIG, stage)
    tables = {t["Properties"]["TableName"]: t for t in of_type(template, "AWS::DynamoDB::Table").values()}
    assert set(tables) == {f"{prefix}-{key}" for key in resources()["tables"]}

    def key_schema(spec: dict[str, Any]) -> list[dict[str, str]]:
        keys = [("HASH", spec["hash_key"])] + ([("RANGE", spec["range_key"])] if "range_key" in spec else [])
        return [{"AttributeName": k[0], "KeyType": kind} for kind, k in keys]

    for key, spec in resources()["tables"].items():
        table = tables[f"{prefix}-{key}"]
        props = table["Properties"]
        assert table["DeletionPolicy"] == "Retain" and props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["KeySchema"] == key_schema(spec)
        declared = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        keys = [spec["hash_key"], spec.get("range_key")] + [k for i in spec.get("indexes", {}).values()
                                                           for k in (i["hash_key"], i.get("range_key"))]
        assert declared == {k[0]: k[1] for k in keys if k}
        indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == set(spec.get("indexes", {}))
        for name, index in spec.get("indexes", {}).items():
            assert indexes[name]["KeySchema"] == key_schema(index)
            assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}
        ttl = props.get("TimeToLiveSpecification")
        assert ttl == ({"AttributeName": spec["ttl"], "Enabled": True} if spec.get("ttl") else None)


@pytest.mark.parametrize("stage", STAGES)
def test_R30_every_dead_letter_queue_has_an_alarm_on_its_depth(packaged, stage):
    template, _ = packaged[stage]
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    for queue_id in dead_letter_queue_ids(template, stage):
        watching = [a["Properties"] for a in alarms
                    if {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
                    in a["Properties"]["Dimensions"]]
        assert len(watching) == 1, queue_id
        alarm = watching[0]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize("stage", STAGES)
def test_the_sender_address_is_an_ses_identity(packaged, stage):
    template, _ = packaged[stage]
    [identity] = of_type(template, "AWS::SES::EmailIdentity").values()
    parameter = identity["Properties"]["EmailIdentity"]["Ref"]
    assert "AllowedPattern" in template["Parameters"][parameter]


@pytest.mark.parametrize("stage", STAGES)
def test_each_function_has_its_own_role_with_its_committed_policy_and_the_secrets(packaged, stage):
    template, _ = packaged[stage]
    roles = set()
    for function in of_type(template, "AWS::Serverless::Function").values():
        handler, props = handler_of(function), function["Properties"]
        assert props["FunctionName"] == function_name(CONFIG["app_name"], stage, handler)
        role = template["Resources"][props["Role"]["Fn::GetAtt"][0]]
        [policy] = role["Properties"]["Policies"]
        committed = json.loads((ROOT / "policies" / stage / f"{handler}.json").read_text(encoding="utf-8"))
        assert policy["PolicyDocument"] == committed, handler
        roles.add(props["Role"]["Fn::GetAtt"][0])
        for variable in ("PAYMENT_WEBHOOK_SECRET", "OPERATOR_API_KEY"):
            parameter = props["Environment"]["Variables"][variable]["Ref"]
            assert template["Parameters"][parameter]["NoEcho"] is True
    assert len(roles) == len(of_type(template, "AWS::Serverless::Function"))


@pytest.mark.parametrize("stage", STAGES)
def test_the_template_passes_cfn_lint_without_errors(packaged, stage):
    from cfnlint.api import lint_file
    _, path = packaged[stage]
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in lint_file(path) if m.rule.id.startswith("E")]
    assert errors == []
