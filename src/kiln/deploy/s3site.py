"""kiln's own hosting: `dist/` under `sites/<site id>/` in kiln's bucket, behind CloudFront.

A project has one site, so every deploy of it keeps one URL: the caller names the site in
`journal.provider_ids["site"]` (the worker keeps one per owner's project); a journal that
names none makes the deployment its own site. A redeploy overwrites in an order that never
serves an index whose assets are missing: `assets/` (content-hashed, so new names) first,
other files next, HTML pages last; old assets stay. A deployment resumed after a newer one
of its site has published leaves the newer one's files in place. A resume re-puts what the
journal does not list. The CloudFront invalidation covers the site's prefix and uses the
deployment id as its CallerReference, so repeating it returns the same one.

"Ready" means the URL serves the app: the deploy GETs it (the directory URL, which the
user-content distribution's `SiteIndexFunction` and `kiln dev`'s `/sites/` route answer
with its index.html) until it answers 200 with HTML, within the poll budget.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from kiln.deploy.journal import (
    DeployOutcome,
    Journal,
    Progress,
    Recorder,
    Save,
    SiteFiles,
    no_progress,
    no_save,
)
from kiln.deploy.site import build_site, sha1
from kiln.errors import ProviderError
from kiln.mime import content_type

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_ACCESS_CODES = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken")
_THROTTLE_CODES = (
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyInvalidationsInProgress",
)


_SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def prefix(site_id: str) -> str:
    if not _SITE_ID.fullmatch(site_id):
        raise ProviderError(f"{site_id!r} is not a site id", code="deploy_invalid")
    return f"sites/{site_id}/"


def upload_order(path: str) -> tuple[int, str]:
    """Hashed assets, then other files, then pages: a page is put only once all it links are."""
    if path.startswith("assets/"):
        return 0, path
    return (2 if path.endswith(".html") else 1), path


def deploy(
    site: SiteFiles,
    *,
    journal: Journal,
    bucket: str,
    public_base: str,
    s3: S3Client,
    cloudfront: Any = None,
    distribution_id: str = "",
    save: Save = no_save,
    progress: Progress = no_progress,
    verify_budget_s: float = 60.0,
    verify_interval_s: float = 2.0,
    get: Callable[[str], httpx.Response] | None = None,
    claim_pages: Callable[[], bool] = lambda: True,
) -> DeployOutcome:
    """Upload the built site, check its URL `<public_base>/sites/<site id>/` serves it, and
    return that URL.

    `cloudfront` and `distribution_id` are optional: locally there is no CDN to invalidate.
    `claim_pages` is asked before the first file outside `assets/` is put; False (a newer
    deployment of the site has put its own) leaves the site's pages and files as they are.
    """
    rec = Recorder(journal, save, progress)
    if journal.state != "pending":
        return rec.outcome()
    where = prefix(journal.provider_ids.get("site") or site.deployment_id)
    url = f"{public_base.rstrip('/')}/{where}"
    rec.ids(site=where.split("/")[1], bucket=bucket, prefix=where)
    files = build_site(site, base=urlsplit(url).path or "/")
    todo = [p for p in sorted(files, key=upload_order) if journal.uploaded.get(p) != sha1(files[p])]
    claimed = False
    put = 0
    try:
        for n, path in enumerate(todo, start=1):
            if upload_order(path)[0] > 0 and not claimed:
                if not claim_pages():
                    rec.note("upload", "a newer deployment of this site has put its files")
                    break
                claimed = True
            rec.note("upload", f"uploading {n}/{len(todo)} files")
            s3.put_object(
                Bucket=bucket,
                Key=where + path,
                Body=files[path],
                ContentType=content_type(path),
                CacheControl=IMMUTABLE if path.startswith("assets/") else REVALIDATE,
            )
            journal.uploaded[path] = sha1(files[path])
            put = n
            if n % 10 == 0:
                rec.save(journal)
        rec.step("uploaded", f"uploaded {put} files")
        if cloudfront is not None and distribution_id:
            inv = cloudfront.create_invalidation(
                DistributionId=distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": 1, "Items": [f"/{where}*"]},
                    "CallerReference": f"kiln-{site.deployment_id}",
                },
            )
            rec.ids(invalidation=str(inv["Invalidation"]["Id"]))
            rec.step("invalidated", "CloudFront cache invalidated")
    except ClientError as exc:
        raise _provider_error(exc) from exc
    except BotoCoreError as exc:
        raise ProviderError(f"s3 is unreachable: {exc}", code="deploy_unavailable") from exc
    rec.note("verify", f"checking {url} serves the site")
    wait_until_served(url, get or _get, budget_s=verify_budget_s, interval_s=verify_interval_s)
    return rec.finish("ready", url, "site is live")


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10, follow_redirects=True)


def wait_until_served(
    url: str,
    get: Callable[[str], httpx.Response],
    *,
    budget_s: float,
    interval_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once `url` answers 200 with an HTML page; a clear deploy error when it still
    does not at the end of the budget (a CDN that is not set up answers 403 or 404)."""
    deadline = clock() + budget_s
    while True:
        try:
            resp = get(url)
            if resp.status_code == 200 and "html" in resp.headers.get("content-type", ""):
                return
            why = f"it answers HTTP {resp.status_code} {resp.headers.get('content-type', '')}"
        except httpx.HTTPError as exc:
            why = f"it cannot be reached ({type(exc).__name__})"
        if clock() >= deadline:
            raise ProviderError(
                f"the site was uploaded but {url} does not serve it: {why.strip()}",
                code="deploy_not_served",
            )
        sleep(interval_s)


def _provider_error(exc: ClientError) -> ProviderError:
    err = exc.response.get("Error", {})
    code = str(err.get("Code", ""))
    message = f"s3 deploy failed: {code} {err.get('Message', '')}".strip()
    if code in _ACCESS_CODES:
        return ProviderError(message, code="deploy_auth")
    if code in _THROTTLE_CODES:
        return ProviderError(message, code="deploy_rate_limited", retry_after=5)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
    return ProviderError(message, code="deploy_unavailable" if status >= 500 else "deploy_invalid")
