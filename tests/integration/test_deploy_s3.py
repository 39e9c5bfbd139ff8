"""The s3 target on moto: kiln's bucket under sites/<site id>/ (the deployment's id when the
journal names no site), CloudFront, a redeploy that overwrites the site safely, and a deploy
that is ready only once its URL serves the site (through a fake of the CDN)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from kiln.deploy import s3site
from kiln.deploy.journal import Journal, SiteFiles
from kiln.errors import ProviderError
from tests.fakes.deploy_servers import Crash, Saves
from tests.fakes.sites_cdn import sites_cdn

pytestmark = pytest.mark.integration

SITE = SiteFiles(
    deployment_id="d-1",
    name="hello",
    files={"index.html": "<h1>hi</h1>", "assets/app.js": "console.log(1)", "style.css": "h1{}"},
)


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[dict[str, Any]]:
    kw: dict[str, Any] = {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}
    s3 = boto3.client("s3", **kw)
    bucket = f"kiln-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    cloudfront = boto3.client("cloudfront", **kw)
    config = {
        "CallerReference": bucket,
        "Comment": "kiln",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "s3",
                    "DomainName": f"{bucket}.s3.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3",
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        },
    }
    dist = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    with sites_cdn(s3, bucket) as public:
        yield {
            "s3": s3,
            "cloudfront": cloudfront,
            "bucket": bucket,
            "distribution_id": dist,
            "public_base": public,
        }


def run(
    aws: dict[str, Any], journal: Journal | None = None, site: SiteFiles = SITE, **kw: Any
) -> Any:
    journal = journal if journal is not None else Journal(target="s3")
    return s3site.deploy(site, journal=journal, **aws, **kw)


def of_site(site_id: str) -> Journal:
    """A fresh deployment's journal naming the project's site, as the worker hands it over."""
    return Journal(target="s3", provider_ids={"site": site_id})


def redeploy(deployment_id: str, page: str) -> SiteFiles:
    """A later version of SITE: a new page and a new hashed asset it links."""
    return SiteFiles(
        deployment_id=deployment_id,
        name="hello",
        files={
            "index.html": f'<script src="assets/{deployment_id}.js"></script>{page}',
            f"assets/{deployment_id}.js": f"console.log('{deployment_id}')",
            "style.css": "h1{color:red}",
        },
    )


def put_keys(aws: dict[str, Any]) -> list[str]:
    """The keys of every PutObject the s3 client sends from now on, in order."""
    keys: list[str] = []
    aws["s3"].meta.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: keys.append(params["Key"])
    )
    return keys


def stored(aws: dict[str, Any]) -> dict[str, bytes]:
    listing = aws["s3"].list_objects_v2(Bucket=aws["bucket"], Prefix="sites/d-1/")
    keys = [item["Key"] for item in listing.get("Contents", [])]
    return {
        key.removeprefix("sites/d-1/"): aws["s3"]
        .get_object(Bucket=aws["bucket"], Key=key)["Body"]
        .read()
        for key in keys
    }


def test_the_site_is_stored_under_its_deployment_prefix(aws: dict[str, Any]) -> None:
    outcome = run(aws)
    assert outcome.state == "ready"
    assert stored(aws) == {path: text.encode() for path, text in SITE.files.items()}


def test_the_url_is_the_public_base_plus_the_prefix(aws: dict[str, Any]) -> None:
    assert run(aws).url == f"{aws['public_base']}/sites/d-1/"


def test_it_is_ready_only_once_its_url_serves_the_site(aws: dict[str, Any]) -> None:
    outcome = run(aws)
    served = httpx.get(outcome.url)
    assert (outcome.state, served.status_code, served.text) == ("ready", 200, "<h1>hi</h1>")


def test_a_url_that_does_not_serve_the_site_is_a_deploy_error(aws: dict[str, Any]) -> None:
    """As when the CDN in front of the bucket is missing: NoSuchKey / 403 at the URL."""
    with (
        sites_cdn(aws["s3"], "no-such-bucket-kiln") as elsewhere,
        pytest.raises(ProviderError) as caught,
    ):
        run({**aws, "public_base": elsewhere}, verify_budget_s=0.2, verify_interval_s=0.05)
    assert caught.value.code == "deploy_not_served"
    assert "HTTP 403" in caught.value.message


def test_objects_carry_an_explicit_content_type(aws: dict[str, Any]) -> None:
    run(aws)
    head = aws["s3"].head_object(Bucket=aws["bucket"], Key="sites/d-1/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"


def test_hashed_assets_are_immutable_and_pages_revalidate(aws: dict[str, Any]) -> None:
    run(aws)
    asset = aws["s3"].head_object(Bucket=aws["bucket"], Key="sites/d-1/assets/app.js")
    page = aws["s3"].head_object(Bucket=aws["bucket"], Key="sites/d-1/index.html")
    assert (asset["CacheControl"], page["CacheControl"]) == (s3site.IMMUTABLE, s3site.REVALIDATE)


def test_every_invalidation_of_a_deploy_carries_its_one_caller_reference(
    aws: dict[str, Any],
) -> None:
    """CloudFront answers a repeated CallerReference with the first invalidation, so a deploy
    retried from scratch or resumed after a crash invalidates once. moto does not dedupe, so
    what is held here is kiln's side: every request it sends names the same reference."""
    sent: list[dict[str, Any]] = []
    aws["cloudfront"].meta.events.register(
        "provide-client-params.cloudfront.CreateInvalidation",
        lambda params, **_: sent.append(params["InvalidationBatch"]),
    )
    run(aws)  # a deploy
    run(aws)  # the same deploy retried from scratch
    saves = Saves(crash_at=3)  # after the invalidation, before the journal records it
    with pytest.raises(Crash):
        run(aws, save=saves)
    run(aws, journal=saves.last("s3"))  # resumed from the journal

    assert len(sent) == 4
    assert {(b["CallerReference"], tuple(b["Paths"]["Items"])) for b in sent} == {
        ("kiln-d-1", ("/sites/d-1/*",))
    }


def test_without_a_distribution_nothing_is_invalidated(aws: dict[str, Any]) -> None:
    outcome = run({**aws, "distribution_id": ""})
    assert outcome.state == "ready"
    assert "invalidation" not in outcome.provider_ids


def test_a_resume_puts_only_what_the_journal_lacks(aws: dict[str, Any]) -> None:
    saves = Saves(crash_at=2)  # after the ids, at the "uploaded" step
    with pytest.raises(Crash):
        run(aws, save=saves)
    journal = saves.last("s3")
    journal.uploaded = {"index.html": s3site.sha1(b"<h1>hi</h1>")}
    aws["s3"].delete_object(Bucket=aws["bucket"], Key="sites/d-1/style.css")
    aws["s3"].put_object(
        Bucket=aws["bucket"], Key="sites/d-1/index.html", Body=b"kept", ContentType="text/html"
    )
    run(aws, journal=journal)
    files = stored(aws)
    assert (files["index.html"], files["style.css"]) == (b"kept", b"h1{}")


def test_a_journal_naming_a_site_publishes_under_that_sites_prefix(
    aws: dict[str, Any],
) -> None:
    outcome = run(aws, journal=of_site("d-site"))
    listed = aws["s3"].list_objects_v2(Bucket=aws["bucket"], Prefix="sites/")["Contents"]
    assert {o["Key"] for o in listed} == {f"sites/d-site/{path}" for path in SITE.files}
    assert (outcome.url, outcome.provider_ids["site"]) == (
        f"{aws['public_base']}/sites/d-site/",
        "d-site",
    )


def test_a_redeploy_of_a_site_keeps_its_url_and_serves_the_new_version(
    aws: dict[str, Any],
) -> None:
    first = run(aws, journal=of_site("d-site"), site=redeploy("d-1", "<h1>one</h1>"))
    second = run(aws, journal=of_site("d-site"), site=redeploy("d-2", "<h1>two</h1>"))
    assert second.url == first.url
    assert httpx.get(second.url).text.endswith("<h1>two</h1>")
    assert httpx.get(f"{second.url}assets/d-2.js").status_code == 200


def test_a_redeploy_puts_assets_first_and_pages_last(aws: dict[str, Any]) -> None:
    keys = put_keys(aws)
    run(aws, journal=of_site("d-site"), site=redeploy("d-2", "<h1>two</h1>"))
    assert keys == [
        "sites/d-site/assets/d-2.js",
        "sites/d-site/style.css",
        "sites/d-site/index.html",
    ]


def test_a_redeploy_leaves_the_previous_assets_in_place(aws: dict[str, Any]) -> None:
    """A visitor still holding the old page can load what it links."""
    run(aws, journal=of_site("d-site"), site=redeploy("d-1", "<h1>one</h1>"))
    second = run(aws, journal=of_site("d-site"), site=redeploy("d-2", "<h1>two</h1>"))
    assert httpx.get(f"{second.url}assets/d-1.js").text == "console.log('d-1')"


def test_a_redeploy_that_crashed_before_its_page_resumes_to_the_new_version(
    aws: dict[str, Any],
) -> None:
    run(aws, journal=of_site("d-site"), site=redeploy("d-1", "<h1>one</h1>"))
    saves = Saves(crash_at=2)  # the first save after the ids: at the "uploaded" step
    with pytest.raises(Crash):
        run(aws, journal=of_site("d-site"), site=redeploy("d-2", "<h1>two</h1>"), save=saves)
    journal = saves.last("s3")
    journal.uploaded = {"assets/d-2.js": s3site.sha1(b"console.log('d-2')")}
    aws["s3"].delete_object(Bucket=aws["bucket"], Key="sites/d-site/index.html")
    keys = put_keys(aws)
    outcome = run(aws, journal=journal, site=redeploy("d-2", "<h1>two</h1>"))
    assert keys == ["sites/d-site/style.css", "sites/d-site/index.html"]
    assert httpx.get(outcome.url).text.endswith("<h1>two</h1>")


def test_a_deployment_refused_the_sites_files_puts_only_its_assets(aws: dict[str, Any]) -> None:
    """A newer deployment of the site has published: this older one must not roll it back."""
    newer = run(aws, journal=of_site("d-site"), site=redeploy("d-2", "<h1>two</h1>"))
    keys = put_keys(aws)
    older = run(
        aws,
        journal=of_site("d-site"),
        site=redeploy("d-1", "<h1>one</h1>"),
        claim_pages=lambda: False,
    )
    assert keys == ["sites/d-site/assets/d-1.js"]
    assert older.url == newer.url
    assert httpx.get(newer.url).text.endswith("<h1>two</h1>")


def test_each_deploy_of_a_site_invalidates_the_sites_prefix_under_its_own_reference(
    aws: dict[str, Any],
) -> None:
    sent: list[dict[str, Any]] = []
    aws["cloudfront"].meta.events.register(
        "provide-client-params.cloudfront.CreateInvalidation",
        lambda params, **_: sent.append(params["InvalidationBatch"]),
    )
    run(aws, journal=of_site("d-site"), site=redeploy("d-1", "<h1>one</h1>"))
    run(aws, journal=of_site("d-site"), site=redeploy("d-2", "<h1>two</h1>"))
    assert [(b["CallerReference"], b["Paths"]["Items"]) for b in sent] == [
        ("kiln-d-1", ["/sites/d-site/*"]),
        ("kiln-d-2", ["/sites/d-site/*"]),
    ]


@pytest.mark.parametrize("site_id", ["../p_other", "a/b", "-x", "d 1", "x" * 101])
def test_a_site_id_that_is_not_one_is_refused_before_anything_is_put(
    aws: dict[str, Any], site_id: str
) -> None:
    keys = put_keys(aws)
    with pytest.raises(ProviderError) as caught:
        run(aws, journal=of_site(site_id))
    assert (caught.value.code, keys) == ("deploy_invalid", [])


def test_a_missing_bucket_is_deploy_invalid(aws: dict[str, Any]) -> None:
    with pytest.raises(ProviderError) as caught:
        run({**aws, "bucket": "no-such-bucket-kiln"})
    assert caught.value.code == "deploy_invalid"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("assets/x.JS", "text/javascript"),
        ("a.wasm", "application/wasm"),
        ("site.webmanifest", "application/manifest+json"),
        ("dir.v2/README", "application/octet-stream"),
    ],
)
def test_content_types_come_from_kilns_own_table(path: str, expected: str) -> None:
    assert s3site.content_type(path) == expected
