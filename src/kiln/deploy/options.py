"""What a deploy request may ask of a target: its options, checked against strict patterns
(every option that reaches a provider URL is quoted as one path segment later), and the
names kiln gives the sites, projects and repositories it creates."""

from __future__ import annotations

import re
import secrets
from typing import Any

from kiln.errors import Unprocessable

__all__ = ["OPTIONS", "check_options", "operator_name", "site_name"]

OPTIONS: dict[str, set[str]] = {
    "vercel": {"name", "team_id", "target"},
    "netlify": {"name", "site_id"},
    "github": {"name", "org", "private"},
    "s3": set(),
}
OPTION_PATTERNS: dict[str, str] = {
    "name": r"[a-z0-9][a-z0-9-]{0,62}",
    "site_id": r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}",  # a Netlify site id (UUID) or its domain
    "team_id": r"team_[A-Za-z0-9]{1,64}",
    "org": r"[A-Za-z0-9][A-Za-z0-9-]{0,38}",
    "target": r"production|preview",
}
SELECTORS = frozenset({"site_id", "team_id", "org"})  # choose an existing resource


def site_name(project_name: str, project_id: str) -> str:
    """A stable slug per project, so redeploys land on the same site, project or repo."""
    words = re.sub(r"[^a-z0-9]+", "-", project_name.lower()).strip("-")[:40].strip("-")
    return f"{words or 'kiln-app'}-{project_id.removeprefix('p_')[:6]}"


def check_options(target: str, options: dict[str, Any], *, operator: bool) -> dict[str, Any]:
    """Known options with strict values; with the operator's token, none that selects an
    existing resource."""
    unknown = sorted(set(options) - OPTIONS[target])
    if unknown:
        raise Unprocessable(
            f"unknown option(s) for {target}: {', '.join(unknown)}",
            code="validation_error",
            details={"allowed": sorted(OPTIONS[target])},
        )
    for key, value in options.items():
        if key == "private":
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, str) and bool(re.fullmatch(OPTION_PATTERNS[key], value))
        if not ok:
            pattern = "true or false" if key == "private" else OPTION_PATTERNS[key]
            raise Unprocessable(
                f"options.{key} is not a valid {target} value",
                code="validation_error",
                details={"option": key, "pattern": pattern},
            )
    chosen = sorted(SELECTORS & set(options))
    if operator and chosen:
        raise Unprocessable(
            f"options.{chosen[0]} selects an existing {target} resource; send your own "
            f"{target} token to deploy there",
            code="own_token_required",
        )
    return options


def operator_name(requested: str) -> str:
    """A name for a resource made with the operator's token: the part a visitor may choose,
    then 32 random bits they cannot, so it never names another visitor's resource."""
    return f"{requested[:40].rstrip('-')}-{secrets.token_hex(4)}"
