"""Create kiln's table, bucket and queues from infra/template.yaml on any AWS endpoint.

The local stack (moto) and the tests call this instead of describing the resources
a second time, so the template stays the single source of truth and the two cannot
drift. Only the properties that an emulator honours and the code depends on are
translated (keys, indexes, TTL, the stream, redrive, visibility timeout, versioning, lifecycle).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

__all__ = ["DEFAULT_TEMPLATE", "create_resources", "load_template", "queue_name"]

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "infra" / "template.yaml"

# The queues whose URLs the code needs, by logical id in the template.
_QUEUE_OUTPUTS = {"GenerateQueue": "generate_queue_url", "DeployQueue": "deploy_queue_url"}


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic tags."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(
            None, None, f"unexpected !{tag_suffix}", node.start_mark
        )
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path | None = None) -> dict[str, Any]:
    """Parse the SAM template; short tags (`!Ref`, `!Sub`, ...) become their long form."""
    text = (path or DEFAULT_TEMPLATE).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=_TemplateLoader)
    if not isinstance(data, dict):
        raise ValueError(f"{path or DEFAULT_TEMPLATE} is not a CloudFormation template")
    return data


def queue_name(prefix: str, logical_id: str) -> str:
    """Local queue name: `GenerateQueue` -> `kiln-generate`, `DeployDLQ` -> `kiln-deploy-dlq`."""
    words = [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*", logical_id)]
    if len(words) > 1 and words[-1] == "queue":
        words.pop()
    return "-".join([prefix, *words])


def _client(source: Any, service: str, endpoint_url: str | None, region: str | None) -> Any:
    if isinstance(source, Mapping):
        return source[service]
    return source.client(service, endpoint_url=endpoint_url, region_name=region)


def _resources_of(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: dict(resource.get("Properties") or {})
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == kind
    }


def _one(template: Mapping[str, Any], kind: str) -> dict[str, Any]:
    found = _resources_of(template, kind)
    if len(found) != 1:
        raise ValueError(f"expected exactly one {kind} in the template, found {len(found)}")
    return next(iter(found.values()))


def create_table(dynamodb: Any, props: Mapping[str, Any], table_name: str) -> None:
    """Create the table (or add indexes it lacks), then TTL and point-in-time recovery."""
    gsis = [
        {k: g[k] for k in ("IndexName", "KeySchema", "Projection")}
        for g in props.get("GlobalSecondaryIndexes", [])
    ]
    stream = (
        {"StreamEnabled": True, "StreamViewType": props["StreamSpecification"]["StreamViewType"]}
        if "StreamSpecification" in props
        else None
    )
    try:
        dynamodb.create_table(
            TableName=table_name,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            **({"GlobalSecondaryIndexes": gsis} if gsis else {}),
            **(
                {"SSESpecification": {"Enabled": True}}
                if props.get("SSESpecification", {}).get("SSEEnabled")
                else {}
            ),
            **({"StreamSpecification": stream} if stream else {}),
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        _add_missing_indexes(dynamodb, table_name, props["AttributeDefinitions"], gsis)
        if stream:
            _enable_stream(dynamodb, table_name, stream)
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    pitr = props.get("PointInTimeRecoverySpecification", {})
    if pitr.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def _enable_stream(dynamodb: Any, table_name: str, stream: dict[str, Any]) -> None:
    """A table kept from an older template gains the stream added since (kiln.push)."""
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    if not table.get("StreamSpecification", {}).get("StreamEnabled"):
        dynamodb.update_table(TableName=table_name, StreamSpecification=stream)


def _add_missing_indexes(
    dynamodb: Any, table_name: str, attributes: list[dict[str, str]], gsis: list[dict[str, Any]]
) -> None:
    """A table kept from an older template gains the indexes added since (data survives)."""
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    have = {g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])}
    for gsi in gsis:
        if gsi["IndexName"] in have:
            continue
        dynamodb.update_table(
            TableName=table_name,
            AttributeDefinitions=attributes,
            GlobalSecondaryIndexUpdates=[{"Create": gsi}],
        )


def create_bucket(s3: Any, props: Mapping[str, Any], bucket: str) -> None:
    """Create the bucket with the template's versioning, encryption, privacy and lifecycle."""
    region = s3.meta.region_name
    try:
        if region in (None, "us-east-1"):
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    if versioning := props.get("VersioningConfiguration"):
        s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": versioning["Status"]}
        )
    if encryption := props.get("BucketEncryption"):
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": dict(
                            rule["ServerSideEncryptionByDefault"]
                        ),
                        "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
                    }
                    for rule in encryption["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    if block := props.get("PublicAccessBlockConfiguration"):
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict(block))
    if lifecycle := props.get("LifecycleConfiguration"):
        rules = [_lifecycle_rule(rule) for rule in lifecycle["Rules"]]
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape -> the S3 API's."""
    out: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": rule["ExpirationInDays"]}
    if nv := rule.get("NoncurrentVersionExpiration"):
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": nv["NoncurrentDays"]}
    if abort := rule.get("AbortIncompleteMultipartUpload"):
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": abort["DaysAfterInitiation"]
        }
    return out


def create_queues(sqs: Any, queues: Mapping[str, Mapping[str, Any]], prefix: str) -> dict[str, str]:
    """Create every template queue, dead-letter queues first; return URLs by logical id."""
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    # a queue whose RedrivePolicy names another must come after it
    ordered = sorted(queues, key=lambda lid: "RedrivePolicy" in queues[lid])
    for logical_id in ordered:
        props = queues[logical_id]
        attributes = _queue_attributes(props, arns)
        name = queue_name(prefix, logical_id)
        try:
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        except ClientError as exc:
            if "QueueAlreadyExists" not in exc.response["Error"]["Code"]:
                raise
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        urls[logical_id] = url
        arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    return urls


def _queue_attributes(props: Mapping[str, Any], arns: Mapping[str, str]) -> dict[str, str]:
    attributes = {
        key: str(props[key])
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds")
        if key in props
    }
    if redrive := props.get("RedrivePolicy"):
        target = redrive["deadLetterTargetArn"]
        if isinstance(target, Mapping) and "Fn::GetAtt" in target:
            target = arns[target["Fn::GetAtt"][0]]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": target, "maxReceiveCount": int(redrive["maxReceiveCount"])}
        )
    return attributes


def create_resources(
    session_or_clients: boto3.session.Session | Mapping[str, Any],
    *,
    table_name: str,
    bucket: str,
    prefix: str = "kiln",
    endpoint_url: str | None = None,
    region: str | None = None,
    template: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Create (or keep) the template's table, bucket and queues; return their names/URLs.

    `session_or_clients` is a boto3 Session (clients are made with `endpoint_url`)
    or a mapping `{"dynamodb": ..., "s3": ..., "sqs": ...}` of ready clients.
    Idempotent: resources that exist already are kept, with their data.
    """
    tpl = template if template is not None else load_template()
    dynamodb = _client(session_or_clients, "dynamodb", endpoint_url, region)
    s3 = _client(session_or_clients, "s3", endpoint_url, region)
    sqs = _client(session_or_clients, "sqs", endpoint_url, region)

    create_table(dynamodb, _one(tpl, "AWS::DynamoDB::Table"), table_name)
    create_bucket(s3, _one(tpl, "AWS::S3::Bucket"), bucket)
    urls = create_queues(sqs, _resources_of(tpl, "AWS::SQS::Queue"), prefix)

    result = {"table": table_name, "bucket": bucket}
    for logical_id, key in _QUEUE_OUTPUTS.items():
        result[key] = urls[logical_id]
    return result
