"""The merge template for `chalice package`, generated from infra/resources.json (pure: no packaging)."""
from __future__ import annotations

import copy

import pytest

from infra.appinfo import LambdaFunction
from infra.definitions import resources
from infra.template import (dead_letter_keys, function_logical_id, merge_template, queue_logical_id,
                            sqs_event_logical_id, table_logical_id)

FUNCTIONS = [LambdaFunction("api_handler", "api"), LambdaFunction("on_payment_event", "sqs", "soho-t-payment-events"),
             LambdaFunction("redispatch_pending_commands", "schedule")]


def generate(definitions=None, functions=FUNCTIONS):
    return merge_template(app_name="app", stage="t", prefix="soho-t", functions=functions,
                          definitions=definitions or resources())


def test_a_table_gets_a_ttl_only_when_its_definition_names_the_attribute():
    definitions = copy.deepcopy(resources())
    definitions["tables"]["meta"]["ttl"] = "expires_at"
    tables = generate(definitions)["Resources"]
    assert tables[table_logical_id("meta")]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at", "Enabled": True}
    assert "TimeToLiveSpecification" not in tables[table_logical_id("orders")]["Properties"]


def test_R30_dead_letter_queues_include_the_one_shared_by_node_command_queues():
    definitions = resources()
    assert "node-commands-dlq" in dead_letter_keys(definitions)
    assert set(dead_letter_keys(definitions)) == {spec["dead_letter"] for spec in
                                                  [*definitions["queues"].values(), definitions["node_command_queue"]]
                                                  if "dead_letter" in spec}


def test_sqs_functions_report_batch_item_failures_and_depend_on_the_queue_they_read():
    function = generate()["Resources"][function_logical_id("on_payment_event")]
    event = function["Properties"]["Events"][sqs_event_logical_id("on_payment_event")]
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue_logical_id("payment-events") in function["DependsOn"]
    assert "Events" not in generate()["Resources"][function_logical_id("redispatch_pending_commands")]["Properties"]


def test_logical_ids_are_the_ones_chalice_gives_its_functions_and_events():
    assert function_logical_id("api_handler") == "APIHandler"
    assert function_logical_id("on_payment_event") == "OnPaymentEvent"
    assert sqs_event_logical_id("on_payment_event") == "OnPaymentEventSqsEventSource"


def test_a_function_reading_a_queue_the_definitions_lack_is_refused():
    with pytest.raises(KeyError, match="soho-t-elsewhere"):
        generate(functions=[LambdaFunction("on_other", "sqs", "soho-t-elsewhere")])


def test_secrets_are_no_echo_parameters_given_to_every_function():
    template = generate()
    assert all(template["Parameters"][p]["NoEcho"] for p in ("PaymentWebhookSecret", "OperatorApiKey"))
    for function in FUNCTIONS:
        variables = template["Resources"][function_logical_id(function.name)]["Properties"]["Environment"]["Variables"]
        assert variables["PAYMENT_WEBHOOK_SECRET"] == {"Ref": "PaymentWebhookSecret"}
        assert variables["OPERATOR_API_KEY"] == {"Ref": "OperatorApiKey"}


def test_packaging_refuses_a_template_where_the_merge_missed_chalice_s_resources():
    from infra.package import template_problems
    queue = {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:soho-t-payment-events"}
    template = {"Resources": {
        "OnPaymentEvent": {"Type": "AWS::Serverless::Function", "Properties": {"Events": {"Sqs": {
            "Type": "SQS", "Properties": {"Queue": queue}}}}},
        "QueuePaymentEvents": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "soho-t-payment-events"}}}}
    problems = template_problems(template)
    assert any("FunctionResponseTypes" in p for p in problems) and any("depend" in p for p in problems)
    template["Resources"]["OnPaymentEventRenamed"] = {"Properties": {}}
    assert template_problems(template) == [
        "OnPaymentEventRenamed: the merge template names it but Chalice generated no such resource"]
