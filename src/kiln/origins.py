"""Which pages may open a WebSocket: kiln dev's `/ws` and `/push`, and the WebSocket API's
`$connect` (kiln.push) ask the same question of the same setting."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["LOOPBACK_NAMES", "origin_allowed"]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Whether a WebSocket handshake may proceed. Browsers always send Origin, so a
    handshake without one is not a page's. A page may connect from an allowed origin, or
    from the site itself when kiln is reached by a loopback name: a name that merely
    resolves to 127.0.0.1 (DNS rebinding) makes Origin and Host agree, but is not kiln's."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in allowed or "*" in allowed:
        return True
    parsed = urlsplit(origin)
    hostname = urlsplit(f"//{host or ''}").hostname
    return (
        parsed.scheme in ("http", "https")
        and parsed.netloc == (host or "")
        and hostname in LOOPBACK_NAMES
    )
