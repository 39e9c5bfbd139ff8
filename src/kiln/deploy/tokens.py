"""Provider tokens are checked with the provider before kiln stores one.

A schedule keeps its token in Secrets Manager for as long as it lives, so a junk
token would cost a secret and a failed deploy per run: it is refused at once.
"""

from __future__ import annotations

import httpx

from kiln.config import Settings
from kiln.deploy import github, netlify
from kiln.deploy.http import ProviderApi
from kiln.errors import ProviderError, Unprocessable

WHOAMI = {"netlify": "/user", "vercel": "/v2/user", "github": "/user"}
_HEADERS = {
    "github": {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": github.API_VERSION,
        "User-Agent": "kiln-deploy",
    },
    "netlify": {"User-Agent": netlify.USER_AGENT},
}


def check_token(
    settings: Settings, target: str, token: str, *, client: httpx.Client | None = None
) -> None:
    """Ask the provider who the token belongs to; a refusal is `422 deploy_auth`."""
    base = {
        "vercel": settings.vercel_api,
        "netlify": settings.netlify_api,
        "github": settings.github_api,
    }[target]
    own = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(5.0, connect=3.0))  # an API request
    try:
        with ProviderApi(
            target, base, token, client=client, headers=_HEADERS.get(target), max_wait_s=5.0
        ) as http:
            http.request("GET", WHOAMI[target])
    except ProviderError as exc:
        if exc.code == "deploy_auth":
            raise Unprocessable(f"{target} did not accept the token", code="deploy_auth") from None
        raise
    finally:
        if own:
            client.close()
