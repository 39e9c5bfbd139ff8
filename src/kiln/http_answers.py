"""Reading what an HTTP API answered, the same way for model providers and deploy targets:
how long it asks us to wait, the human part of its error body, and that body with our
secret taken out (some servers echo a key back, partly masked or whole)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["error_info", "parse_date", "parse_retry_after", "scrub"]

REDACTED = "[redacted]"


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, else `retry-after` (seconds or
    a date); None when it says nothing usable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    at = parse_date(raw)
    if at is None:
        return None
    return max(at - (time.time() if now is None else now), 0.0)


def parse_date(text: str) -> float | None:
    """HTTP dates, and Netlify's `2022-01-27 22:20:17 UTC`, as epoch seconds."""
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        pass
    try:
        parsed = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC).timestamp()


def error_info(body: bytes) -> tuple[str, str]:
    """(error type/code, message) from any provider's error body, or its plain text."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return "", body.decode("utf-8", "replace").strip()[:300]
    if not isinstance(data, dict):
        return "", ""
    err = data.get("error", data)
    if isinstance(err, str):  # Ollama, GitHub: {"error": "..."}
        return "", err[:300]
    if not isinstance(err, dict):
        return "", ""
    details = err.get("details")
    code = ""
    if isinstance(details, dict) and isinstance(details.get("error_code"), str):
        code = details["error_code"]
    for key in ("code", "type"):
        value = err.get(key)
        if not code and isinstance(value, str):
            code = value
    message = err.get("message") or data.get("message") or ""
    return code, str(message)[:300]


def scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, REDACTED) if secret else text
