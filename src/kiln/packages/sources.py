"""Unpacked tarballs: scratch that the builder reads, not a cache to keep (built modules
are kept, in cache.py). One folder per version, so each further subpath of a package
(date-fns/format, date-fns/addDays...) costs only its build.

They live in memory-backed /dev/shm where there is one: a cold build of an icon set or a
date library is mostly the creation of thousands of small files, seconds on a busy disk
and a tenth of that in memory. Past SCRATCH_BYTES the least recently used versions that
no build has touched for IDLE_S are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import time
from functools import cache
from pathlib import Path

from kiln.config import Settings
from kiln.packages.registry import extract

SCRATCH_BYTES = 2_000_000_000
IDLE_S = 600.0
DONE = ".complete"  # holds the unpacked size; its mtime is the last use


@cache
def scratch_root() -> Path:
    """A folder only this user can write: in /dev/shm, else in the temp folder."""
    for base in (Path("/dev/shm"), Path(tempfile.gettempdir())):
        if not (base.is_dir() and os.access(base, os.W_OK)):
            continue
        root = base / f"kiln-pkg-src-{os.getuid()}"
        with contextlib.suppress(OSError):
            root.mkdir(mode=0o700, exist_ok=True)
            st = root.lstat()
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077:
                return root
    return Path(tempfile.mkdtemp(prefix="kiln-pkg-src-"))


def folder(settings: Settings, name: str, version: str) -> Path:
    """Where `name@version` is unpacked (its files under node_modules/<name>), apart per
    registry and data folder, since two registries may serve different files as one version."""
    owner = hashlib.sha256(f"{settings.npm_registry}|{settings.data_dir.resolve()}".encode())
    return scratch_root() / owner.hexdigest()[:16] / f"{name}@{version}"


def ready(root: Path) -> bool:
    done = root / DONE
    try:
        os.utime(done)
    except OSError:
        return False
    return True


def unpack(settings: Settings, tarball: bytes, name: str, version: str, root: Path) -> None:
    """Unpack into a staging folder, then move it into place whole."""
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=root.parent))
    try:
        size = extract(
            tarball,
            staging / "node_modules" / name,
            max_unpacked=settings.pkg_max_unpacked_bytes,
            label=f"{name}@{version}",
        )
        (staging / DONE).write_text(str(size))
        with contextlib.suppress(OSError):  # another process unpacked it first
            staging.rename(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    evict()


_last_eviction = 0.0


def evict(
    limit: int = SCRATCH_BYTES,
    idle_s: float = IDLE_S,
    every_s: float = 60.0,
    root: Path | None = None,
) -> None:
    """Remove the least recently used versions while the scratch holds over `limit` bytes
    (looked at once a minute at most: a cold graph unpacks dozens of versions at once)."""
    global _last_eviction
    if time.monotonic() - _last_eviction < every_s:
        return
    _last_eviction = time.monotonic()
    root = root or scratch_root()
    found: list[tuple[float, int, Path]] = []
    for done in root.glob(f"*/*/{DONE}"):
        found += _sized(done)
    for done in root.glob(f"*/@*/*/{DONE}"):
        found += _sized(done)
    total = sum(size for _, size, _ in found)
    now = time.time()
    for used, size, root in sorted(found):
        if total <= limit or now - used < idle_s:
            break
        shutil.rmtree(root, ignore_errors=True)
        total -= size


def _sized(done: Path) -> list[tuple[float, int, Path]]:
    try:
        return [(done.stat().st_mtime, int(done.read_text() or 0), done.parent)]
    except (OSError, ValueError):
        return []
