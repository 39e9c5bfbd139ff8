"""What the template gives code that a visitor or a model wrote: the builder function
runs it with no data permission, no function's environment holds a secret, each role
holds what its function does, and user content never shares the web app's origin."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kiln.local.resources import load_template
from tests.integration.test_template import TEMPLATE, function_props, resources_of

pytestmark = pytest.mark.integration

USER_CONTENT = ("sites/", "previews/")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def statements(props: dict[str, Any]) -> list[dict[str, Any]]:
    """Every IAM statement of a function's inline policies, both branches of an `If`."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Effect" in node and "Action" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(props.get("Policies", []))
    return found


def managed_policies(props: dict[str, Any]) -> set[str]:
    return {
        key
        for policy in props.get("Policies", [])
        if isinstance(policy, dict)
        for key in policy
        if key != "Statement" and not key.startswith("Fn::")
    }


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def functions(template: dict[str, Any]) -> list[str]:
    return list(resources_of(template, "AWS::Serverless::Function"))


def test_the_builder_function_may_write_its_logs_and_nothing_else(
    template: dict[str, Any],
) -> None:
    props = function_props(template, "BuilderFunction")
    assert props["Policies"] == []
    assert "Role" not in props  # SAM's role: AWSLambdaBasicExecutionRole (logs) only
    assert props["Tracing"] == "PassThrough"  # not even X-Ray writes
    assert "VpcConfig" not in props


def test_no_secret_is_resolved_into_any_functions_environment(template: dict[str, Any]) -> None:
    for logical_id in functions(template):
        env = json.dumps(function_props(template, logical_id)["Environment"])
        assert "resolve:secretsmanager" not in env, logical_id
        assert "resolve:ssm-secure" not in env, logical_id
        names = function_props(template, logical_id)["Environment"]["Variables"]
        assert not {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"} & set(names), logical_id


def test_only_the_generation_worker_may_read_the_provider_keys(template: dict[str, Any]) -> None:
    readers = set()
    for logical_id in functions(template):
        for statement in statements(function_props(template, logical_id)):
            text = json.dumps(statement)
            if "KeySecretArn" in text and "secretsmanager:GetSecretValue" in actions(statement):
                readers.add(logical_id)
    assert readers == {"GenerateWorkerFunction"}


def test_no_function_holds_the_whole_bucket_or_the_web_app(template: dict[str, Any]) -> None:
    for logical_id in functions(template):
        props = function_props(template, logical_id)
        assert not {"S3CrudPolicy", "S3ReadPolicy", "S3WritePolicy", "S3FullAccessPolicy"} & (
            managed_policies(props)
        ), logical_id
        for statement in statements(props):
            if not any(a.startswith("s3:") for a in actions(statement)):
                continue
            text = json.dumps(statement["Resource"])
            if "s3:ListBucket" in actions(statement):
                assert statement["Condition"]["StringLike"]["s3:prefix"], logical_id
                continue
            assert "/site/" not in text, logical_id
            assert "${Bucket.Arn}/*" not in text, logical_id
            assert '"Bucket", "Arn"' not in text, logical_id


def test_functions_that_build_hand_the_build_to_the_builder(template: dict[str, Any]) -> None:
    for logical_id in ("DeployWorkerFunction", "StatusApiFunction"):
        props = function_props(template, logical_id)
        assert props["Environment"]["Variables"]["KILN_BUILDER_FUNCTION"] == {
            "Ref": "BuilderFunction"
        }
        invokes = [s for s in statements(props) if "lambda:InvokeFunction" in actions(s)]
        assert [s["Resource"] for s in invokes] == [{"Fn::GetAtt": ["BuilderFunction", "Arn"]}]
        assert "NodeLayer" not in json.dumps(props.get("Layers", [])), logical_id


def test_only_the_builder_runs_unsandboxed(template: dict[str, Any]) -> None:
    unsandboxed = {
        logical_id
        for logical_id in functions(template)
        if function_props(template, logical_id)["Environment"]["Variables"].get(
            "KILN_BUILD_SANDBOX"
        )
        == "none"
    }
    assert unsandboxed == {"BuilderFunction"}


def test_the_web_apps_distribution_serves_no_user_content(template: dict[str, Any]) -> None:
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    patterns = [b["PathPattern"] for b in config.get("CacheBehaviors", [])]
    assert not [p for p in patterns if p.lstrip("/").startswith(USER_CONTENT)]
    for origin in config["Origins"]:
        if "S3OriginConfig" in origin:
            assert origin["OriginPath"] == "/site", origin["Id"]


def test_user_content_is_served_from_its_own_distribution(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    for name in ("KILN_SITES_PUBLIC_BASE", "KILN_PREVIEW_BASE_URL"):
        assert "${UserContentDistribution.DomainName}" in env[name]["Fn::Sub"], name
    assert env["KILN_CLOUDFRONT_DISTRIBUTION_ID"] == {"Ref": "UserContentDistribution"}


def test_each_distribution_may_read_only_its_own_prefixes(template: dict[str, Any]) -> None:
    policy = template["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"]
    reads: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        source = json.dumps(statement["Condition"])
        dist = "UserContentDistribution" if "UserContentDistribution" in source else "Distribution"
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        reads.setdefault(dist, set()).update(r["Fn::Sub"].split("}/", 1)[1] for r in resources)
    assert reads == {
        "Distribution": {"site/*"},
        "UserContentDistribution": {"previews/*", "sites/*"},
    }


def test_no_headers_policy_overrides_a_csp_that_a_route_sets(template: dict[str, Any]) -> None:
    """The preview route answers with `Content-Security-Policy: sandbox`; a policy that
    overrides the CSP on /api/* would put shared apps back on kiln's origin unsandboxed."""
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    for behaviour in config.get("CacheBehaviors", []):
        if not behaviour["PathPattern"].startswith("/api"):
            continue
        policy_id = behaviour["ResponseHeadersPolicyId"]["Ref"]
        policy = template["Resources"][policy_id]["Properties"]["ResponseHeadersPolicyConfig"]
        csp = policy.get("SecurityHeadersConfig", {}).get("ContentSecurityPolicy")
        assert csp is None or csp["Override"] is False, policy_id
        custom = policy.get("CustomHeadersConfig", {}).get("Items", [])
        assert not [h for h in custom if h["Header"].lower() == "content-security-policy"]


def test_package_files_on_the_web_apps_origin_are_served_into_a_sandbox(
    template: dict[str, Any],
) -> None:
    """/pkg/* shares the web app's origin (the preview imports from it); anyone can publish
    a package with a page or an SVG in it."""
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    (pkg,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/pkg/*"]
    policy_id = pkg["ResponseHeadersPolicyId"]["Ref"]
    policy = template["Resources"][policy_id]["Properties"]["ResponseHeadersPolicyConfig"]
    csp = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert csp["Override"] is True
    assert {d.strip() for d in csp["ContentSecurityPolicy"].split(";")} >= {
        "sandbox",
        "default-src 'none'",
    }
