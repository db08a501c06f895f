"""The merge template given to `chalice package --merge-template`, built from infra/resources.json.

Chalice writes the functions, the API and the event sources; this adds what it cannot:

- every table (keys, GSIs, PAY_PER_REQUEST, TTL when the definition names a `ttl` attribute,
  point-in-time recovery, kept on stack deletion) and every queue with its redrive policy, under
  the physical names the functions compute (`<prefix>-<key>`); a function that reads a queue
  depends on it, so the event source mapping is created after the queue;
- `FunctionResponseTypes: [ReportBatchItemFailures]` on every SQS event source (without it Lambda
  deletes a partly failed batch as if it had succeeded);
- for every function: the name `chalice deploy` would give it (the policies name its log group),
  a log group with a retention, created first, and the secrets as NoEcho parameters;
- an alarm per dead-letter queue (ApproximateNumberOfMessagesVisible > 0) to an SNS topic;
- the SES identity of the sender address.

The deep merge keys on Chalice's logical ids: CamelCase of the handler name (`APIHandler` for the
API), `<Handler>SqsEventSource` for an SQS event (`chalice.utils.to_cfn_resource_name`, as
chalice/package.py does). infra/package.py checks the packaged result, so a change in Chalice's
naming fails the packaging instead of dropping a setting.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Optional

from chalice.utils import to_cfn_resource_name

from .appinfo import LambdaFunction
from .definitions import resources, table_spec, ttl_specification
from .stages import API_HANDLER, function_name, log_group_name

REPORT_BATCH_ITEM_FAILURES = ["ReportBatchItemFailures"]
LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653]
SECRET_PARAMETERS = {"PAYMENT_WEBHOOK_SECRET": "PaymentWebhookSecret", "OPERATOR_API_KEY": "OperatorApiKey",
                     "SOHO_FTP_PASSWORD_SECRET": "FtpPasswordSecret", "SOHO_AUTH_TOKEN_SECRET": "AuthTokenSecret",
                     "SOHO_NODE_API_SECRET": "NodeApiSecret", "SOHO_REGISTRY_PASSWORDS": "RegistryPasswords"}
SENDER_PARAMETER = "SenderEmailAddress"
ALARM_TOPIC = "AlarmTopic"


def function_logical_id(name: str) -> str:
    return "APIHandler" if name == API_HANDLER else to_cfn_resource_name(name)


def sqs_event_logical_id(name: str) -> str:
    return to_cfn_resource_name(f"{name}-sqs-event-source")


def table_logical_id(key: str) -> str:
    return "Table" + to_cfn_resource_name(key)


def queue_logical_id(key: str) -> str:
    return "Queue" + to_cfn_resource_name(key)


def alarm_logical_id(key: str) -> str:
    return "Alarm" + to_cfn_resource_name(key) + "NotEmpty"


def log_group_logical_id(name: str) -> str:
    return "LogGroup" + function_logical_id(name)


def dead_letter_keys(definitions: dict[str, Any]) -> list[str]:
    """Queues named as the dead-letter queue of a queue or of the node command queues."""
    redriven = [*definitions["queues"].values(), definitions.get("node_command_queue", {})]
    return sorted({spec["dead_letter"] for spec in redriven if spec.get("dead_letter")})


def table_resource(prefix: str, key: str, spec: dict[str, Any]) -> dict[str, Any]:
    properties = table_spec(f"{prefix}-{key}", spec)
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    if ttl_specification(spec):
        properties["TimeToLiveSpecification"] = ttl_specification(spec)
    # Invoices (R22) and the evidence log (R56) outlive a stack: deleting it keeps the tables.
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": properties}


def queue_resource(prefix: str, key: str, spec: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"QueueName": f"{prefix}-{key}"}
    if "visibility_timeout" in spec:
        properties["VisibilityTimeout"] = int(spec["visibility_timeout"])
    if "retention_seconds" in spec:
        properties["MessageRetentionPeriod"] = int(spec["retention_seconds"])
    if spec.get("dead_letter"):
        properties["RedrivePolicy"] = {
            "deadLetterTargetArn": {"Fn::GetAtt": [queue_logical_id(spec["dead_letter"]), "Arn"]},
            "maxReceiveCount": int(spec["max_receive_count"])}
    return {"Type": "AWS::SQS::Queue", "Properties": properties}


def alarm_resource(prefix: str, key: str) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": f"{prefix}-{key}-not-empty",
        "AlarmDescription": f"Messages are waiting in the dead-letter queue {prefix}-{key}: they exhausted "
                            "their tries. Read them, fix the cause, then redrive or delete them.",
        "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_logical_id(key), "QueueName"]}}],
        "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 0,
        "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": ALARM_TOPIC}], "OKActions": [{"Ref": ALARM_TOPIC}]}}


def sender_parameter(sender_email: Optional[str] = None) -> dict[str, Any]:
    """R54: with the stage's sender, the parameter defaults to it and accepts only an address of its
    domain: the functions' IAM policies may send as that domain's identities only (infra/iam.py)."""
    parameter: dict[str, Any] = {
        "Type": "String", "AllowedPattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        "Description": "Sender address of customer notices; SES sends a verification mail to it"}
    if sender_email:
        domain = sender_email.rsplit("@", 1)[-1].lower()
        parameter.update(Default=sender_email, AllowedPattern=r"^[^@\s]+@" + re.escape(domain) + "$",
                         ConstraintDescription=f"an address of {domain}, the domain the IAM policies let "
                                               "the functions send from (SOHO_SENDER_EMAIL in .chalice/config.json)")
    return parameter


def _parameters(sender_email: Optional[str] = None) -> dict[str, Any]:
    return {
        "PaymentWebhookSecret": {"Type": "String", "NoEcho": True, "MinLength": 1,
                                 "Description": "Stripe webhook signing secret (whsec_...)"},
        "OperatorApiKey": {"Type": "String", "NoEcho": True, "MinLength": 16,
                           "Description": "Bearer key of the operator API (/admin/*), at least 16 characters"},
        "FtpPasswordSecret": {"Type": "String", "NoEcho": True, "MinLength": 32,
                              "Description": "Secret the spaces' FTP passwords are derived from (R28), at least "
                                             "32 characters; changing it changes every password"},
        "AuthTokenSecret": {"Type": "String", "NoEcho": True, "MinLength": 32,
                            "Description": "HS256 key of the customers' access tokens (R04), at least 32 "
                                           "characters; changing it ends every session"},
        "NodeApiSecret": {"Type": "String", "NoEcho": True, "MinLength": 32,
                          "Description": "Secret the hosting nodes' HTTP keys are derived from, at least "
                                        "32 characters"},
        "RegistryPasswords": {"Type": "String", "NoEcho": True, "MinLength": 2,
                              "Description": "EPP passwords of the registry profiles (issue 4), JSON "
                                             "{\"afnic\": \"...\", \"eurid\": \"...\", \"network_solutions\": \"...\", "
                                             "\"subcontractor\": \"...\"}"},
        SENDER_PARAMETER: sender_parameter(sender_email),
        "AlarmEmail": {"Type": "String", "Default": "",
                       "Description": "Address subscribed to the dead-letter alarms (empty: no subscription)"},
        "LogRetentionDays": {"Type": "Number", "Default": 90, "AllowedValues": LOG_RETENTION_DAYS,
                             "Description": "Retention of the functions' CloudWatch log groups"},
    }


def _queue_key(prefix: str, queue_name: str, definitions: dict[str, Any], reader: str) -> str:
    for key in definitions["queues"]:
        if f"{prefix}-{key}" == queue_name:
            return key
    raise KeyError(f"{reader} reads the queue {queue_name!r}, which infra/resources.json does not define "
                   f"(queues there are '{prefix}-<key>')")


def merge_template(*, app_name: str, stage: str, prefix: str, functions: Iterable[LambdaFunction],
                   definitions: Optional[dict[str, Any]] = None,
                   sender_email: Optional[str] = None) -> dict[str, Any]:
    definitions = definitions or resources()
    functions = list(functions)
    out: dict[str, Any] = {
        "Description": f"{app_name} {stage}: Chalice functions and API with the tables, queues, dead-letter "
                       "alarms and SES sender identity of infra/resources.json",
        "Parameters": _parameters(sender_email),
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": {},
        "Outputs": {},
    }
    res, outputs = out["Resources"], out["Outputs"]
    for key, spec in definitions["tables"].items():
        res[table_logical_id(key)] = table_resource(prefix, key, spec)
    for key, spec in definitions["queues"].items():
        res[queue_logical_id(key)] = queue_resource(prefix, key, spec)
        outputs[queue_logical_id(key) + "Url"] = {"Value": {"Ref": queue_logical_id(key)}}
    for key in definitions.get("buckets", {}):  # R48: private, encrypted, kept on stack deletion
        res["Bucket" + to_cfn_resource_name(key)] = {
            "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {
                "BucketName": f"{prefix}-{key}",
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}}}
    res[ALARM_TOPIC] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{prefix}-alarms"}}
    res["AlarmEmailSubscription"] = {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
                                     "Properties": {"TopicArn": {"Ref": ALARM_TOPIC}, "Protocol": "email",
                                                    "Endpoint": {"Ref": "AlarmEmail"}}}
    outputs["AlarmTopicArn"] = {"Value": {"Ref": ALARM_TOPIC}}
    for key in dead_letter_keys(definitions):
        res[alarm_logical_id(key)] = alarm_resource(prefix, key)
    res["SenderIdentity"] = {"Type": "AWS::SES::EmailIdentity",
                             "Properties": {"EmailIdentity": {"Ref": SENDER_PARAMETER}}}

    ours = set(res)
    for function in functions:
        logical_id = function_logical_id(function.name)
        if logical_id in ours:
            raise ValueError(f"the function {function.name} would take the logical id {logical_id} of a resource")
        res[log_group_logical_id(function.name)] = {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": log_group_name(app_name, stage, function.name),
            "RetentionInDays": {"Ref": "LogRetentionDays"}}}
        variables: dict[str, Any] = {name: {"Ref": parameter} for name, parameter in SECRET_PARAMETERS.items()}
        variables["SOHO_SENDER_EMAIL"] = {"Ref": SENDER_PARAMETER}
        properties: dict[str, Any] = {"FunctionName": function_name(app_name, stage, function.name),
                                      "Environment": {"Variables": variables}}
        depends_on = [log_group_logical_id(function.name)]
        if function.kind == "sqs":
            depends_on.append(queue_logical_id(_queue_key(prefix, function.queue, definitions, function.name)))
            properties["Events"] = {sqs_event_logical_id(function.name): {
                "Properties": {"FunctionResponseTypes": list(REPORT_BATCH_ITEM_FAILURES)}}}
        res[logical_id] = {"DependsOn": depends_on, "Properties": properties}
    return out
