"""The configured npm registry: packuments (briefly cached), tarballs (integrity-checked,
only from the registry's own host) and their safe extraction.

Nothing from a package is ever executed: a tarball is only unpacked, and only regular
files inside its one top folder are written (no absolute paths, `..`, links or devices).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from kiln.config import Settings
from kiln.errors import NotFound, PayloadTooLarge, Unavailable, Unprocessable

ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"


class PackageNotFound(NotFound):
    code = "package_not_found"


class PackageNotFoundInGraph(Unprocessable):
    """A dependency of the project that the registry does not have (422 on resolve)."""

    code = "package_not_found"


class RegistryUnavailable(Unavailable):
    code = "registry_unavailable"


class PackageTooLarge(PayloadTooLarge):
    code = "package_too_large"


class TarballRefused(Unprocessable):
    """The registry's answer breaks a rule: a foreign tarball host, bad integrity, unsafe paths."""

    code = "package_tarball_refused"


class Registry:
    """One registry; thread-safe (resolution fetches packuments in parallel)."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.base = settings.npm_registry.rstrip("/")
        self.host = urlsplit(self.base).netloc
        self.scheme = urlsplit(self.base).scheme
        self.ttl = settings.pkg_metadata_ttl_s
        self.max_tarball = settings.pkg_max_tarball_bytes
        self.max_unpacked = settings.pkg_max_unpacked_bytes
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(30.0, connect=5.0),
            headers={"User-Agent": "kiln-package-service"},
        )
        self._packuments: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def packument(self, name: str) -> dict[str, Any]:
        """The package's metadata (abbreviated where the registry offers it), cached `ttl` s."""
        with self._lock:
            hit = self._packuments.get(name)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        url = f"{self.base}/{quote(name, safe='@')}"
        body = self._get(url, name, accept=ABBREVIATED)
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise RegistryUnavailable(f"the registry sent a malformed answer for {name}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("versions"), dict):
            raise PackageNotFound(f"package {name} has no versions on the registry")
        with self._lock:
            self._packuments[name] = (time.monotonic(), doc)
        return doc

    def manifest(self, name: str, version: str) -> dict[str, Any]:
        versions = self.packument(name)["versions"]
        if version not in versions:
            raise PackageNotFound(
                f"{name}@{version} does not exist on the registry",
                details={"package": name, "version": version},
            )
        return dict(versions[version])

    def tarball(self, name: str, version: str) -> bytes:
        """The version's tarball, only from the registry's host and only if its integrity holds."""
        dist = self.manifest(name, version).get("dist") or {}
        url = str(dist.get("tarball", ""))
        parts = urlsplit(url)
        if parts.netloc != self.host or parts.scheme not in ("https", self.scheme):
            raise TarballRefused(
                f"{name}@{version}: its tarball is on {parts.netloc or 'no host'}, not the "
                f"registry ({self.host}); kiln fetches only from the configured registry",
                details={"package": name, "version": version},
            )
        data = self._get(url, name, limit=self.max_tarball)
        verify_integrity(data, dist, f"{name}@{version}")
        return data

    def _get(self, url: str, name: str, accept: str = "*/*", limit: int | None = None) -> bytes:
        try:
            with self.client.stream("GET", url, headers={"Accept": accept}) as resp:
                if resp.status_code == 404:
                    raise PackageNotFound(
                        f"package {name} does not exist on the registry",
                        details={"package": name},
                    )
                if resp.status_code != 200:
                    raise RegistryUnavailable(
                        f"the npm registry answered {resp.status_code} for {name}; try again"
                    )
                declared = resp.headers.get("content-length", "")
                if limit and declared.isdigit() and int(declared) > limit:
                    raise _too_large(name, int(declared), limit)
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if limit and size > limit:
                        raise _too_large(name, size, limit)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(
                f"the npm registry is unreachable ({type(exc).__name__}); try again"
            ) from exc


def _too_large(name: str, size: int, limit: int) -> PackageTooLarge:
    return PackageTooLarge(
        f"{name}: the tarball has over {size} bytes; the limit is {limit}",
        details={"package": name},
    )


def verify_integrity(data: bytes, dist: dict[str, Any], label: str) -> None:
    """sha512 from `dist.integrity` (SRI); the sha1 `shasum` only for packages without one."""
    integrity = str(dist.get("integrity") or "")
    wanted = [p for p in integrity.split() if p.startswith("sha512-")]
    if wanted:
        digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
        if any(w.split("-", 1)[1].split("?")[0] == digest for w in wanted):
            return
    elif dist.get("shasum") and hashlib.sha1(data).hexdigest() == dist["shasum"]:
        return
    raise TarballRefused(
        f"{label}: the tarball does not match the registry's integrity hash",
        details={"package": label},
    )


# Never loaded by a browser; skipping them halves the files of typed packages (creating
# files dominates unpacking: lucide-react has 2,508 source maps next to its 2,508 modules).
UNUSED_SUFFIXES = (".map", ".d.ts", ".d.mts", ".d.cts", ".md", ".markdown", ".flow")


def extract(data: bytes, dest: Path, *, max_unpacked: int, label: str) -> int:
    """Unpack an npm tarball's files (its top folder stripped) into `dest`, refusing paths
    that leave it and skipping links, devices and files no browser loads (UNUSED_SUFFIXES);
    `max_unpacked` bytes at most. Answers the bytes written."""
    dest.mkdir(parents=True, exist_ok=True)
    made: set[Path] = {dest}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                path = PurePosixPath(member.name.replace("\\", "/"))
                if path.is_absolute() or ".." in path.parts:
                    raise TarballRefused(
                        f"{label}: the tarball holds an unsafe path {member.name[:200]!r}",
                        details={"package": label},
                    )
                rel = PurePosixPath(*path.parts[1:]) if len(path.parts) > 1 else None
                if rel is None or not member.isfile() or rel.name.endswith(UNUSED_SUFFIXES):
                    continue
                total += member.size
                if total > max_unpacked:
                    raise PackageTooLarge(
                        f"{label}: unpacked, the package is over {max_unpacked} bytes",
                        details={"package": label},
                    )
                target = dest.joinpath(*rel.parts)
                if target.parent not in made:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    made.add(target.parent)
                source = tar.extractfile(member)
                if source is not None:
                    target.write_bytes(source.read())
        return total
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise TarballRefused(
            f"{label}: the tarball is not a readable .tgz ({type(exc).__name__})",
            details={"package": label},
        ) from exc
