"""Reused installs: one packed `node_modules` per exact dependency set.

The gate paid `npm ci` for every version and every fix round although most versions
change no dependency. An entry is keyed by what decides the installed tree (the lockfile,
else the manifest and the registry; package.json's dependency fields; Node's version,
the platform and npm's flags) and holds `node_modules` as a tar with a manifest
of every file's SHA-256.

Trust:
- an entry is written only right after a successful `npm ci` in the sandbox, which runs
  no package code (`--ignore-scripts`), and before the project's own code (type-check,
  `vite build`) runs;
- a restored tree is verified before use: the tar holds only `node_modules/` (no
  absolute paths, no links out), every file matches the manifest, and every package the
  lockfile names is there at its version; a mismatch deletes the entry and the build
  installs cleanly;
- writes go to a temp file renamed into place, so concurrent builds of one key each
  leave a whole entry; the local level is bounded (least recently used go first).

Levels: a directory (`<data_dir>/installs` locally, the builder function's `/tmp` on
AWS) and, on AWS, S3 (`installs/`) reached only through URLs that the worker signs
(`Remote`): the builder's role has no S3 access, and the PUT is write-once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FORMAT", "InstallCache", "Remote", "Restored", "install_key"]

FORMAT = 1
"""Bumped when the entry layout changes, so old entries simply miss."""
MANIFEST = "kiln-install.json"
_DEP_FIELDS = (
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
    "overrides",
)
_CHUNK = 1 << 20


class EntryInvalid(Exception):
    """A stored entry failed verification; it is deleted and the build installs."""


def install_key(
    files: dict[str, str], *, node_version: str, registry: str, flags: list[str]
) -> str:
    """SHA-256 of everything that decides the installed tree (and nothing else, so a
    version that only changes source code reuses its parent's install)."""
    try:
        manifest = json.loads(files.get("package.json", "{}"))
    except ValueError:
        manifest = {}
    deps = {k: manifest.get(k) for k in _DEP_FIELDS} if isinstance(manifest, dict) else {}
    lock = files.get("package-lock.json")
    basis = {
        "format": FORMAT,
        "lockfile": hashlib.sha256(lock.encode()).hexdigest() if lock is not None else None,
        "manifest": deps,
        "registry": registry,
        "node": node_version,
        "platform": f"{sys.platform}-{platform.machine()}",
        "flags": sorted(flags),
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Remote:
    """The S3 level for one key, through URLs the trusted worker signed: `get_url` and
    the object's MD5 (its ETag, read by the worker) when it exists, else `put_url`."""

    get_url: str | None = None
    md5: str | None = None
    put_url: str | None = None


@dataclass(frozen=True)
class Restored:
    """Where a restored tree came from, or why nothing was restored."""

    hit: bool
    source: str  # "local", "remote" or "" on a miss
    note: str


Fetch = Callable[[str], bytes | None]
Upload = Callable[[str, bytes], bool]


class InstallCache:
    """A directory of entries `<key>.tar`, plus an optional `Remote` level."""

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int,
        remote: Remote | None = None,
        fetch: Fetch | None = None,
        upload: Upload | None = None,
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.remote = remote
        self.fetch = fetch
        self.upload = upload

    def entry(self, key: str) -> Path:
        return self.root / f"{key}.tar"

    def restore(self, key: str, project: Path, lockfile: str | None) -> Restored:
        """Unpack a verified entry into `project/node_modules`, or leave none there."""
        notes: list[str] = []
        local = self.entry(key)
        remote = self.remote
        if local.is_file() and (remote is None or _md5_matches(local, remote.md5)):
            try:
                _unpack(local, project, key, lockfile)
                with contextlib.suppress(OSError):
                    os.utime(local)  # recently used: evicted last
                return Restored(True, "local", f"node_modules from the install cache ({key[:12]})")
            except EntryInvalid as exc:
                notes.append(f"discarded a cached install that failed verification: {exc}")
                _discard(project / "node_modules")
                with contextlib.suppress(OSError):
                    local.unlink()
        elif local.is_file():
            notes.append("the local install entry differs from the stored one: not used")
        if remote is not None and remote.get_url and self.fetch is not None:
            data = self.fetch(remote.get_url)
            if data is not None and remote.md5 == _md5(data):
                self.root.mkdir(parents=True, exist_ok=True)
                _write_atomic(local, data)
                try:
                    _unpack(local, project, key, lockfile)
                    note = f"node_modules from the shared install cache ({key[:12]})"
                    return Restored(True, "remote", "\n".join([*notes, note]))
                except EntryInvalid as exc:
                    notes.append(f"the shared install entry failed verification: {exc}")
                    _discard(project / "node_modules")
                    with contextlib.suppress(OSError):
                        local.unlink()
            else:
                notes.append("the shared install entry could not be fetched intact")
        return Restored(False, "", "\n".join([*notes, "no reusable install: npm installs"]))

    def save(self, key: str, project: Path) -> str:
        """Pack `project/node_modules` (just installed) as the entry for `key`."""
        data = pack(project / "node_modules", key)
        if len(data) > self.max_bytes:
            return f"install not cached: {len(data)} bytes exceed the cache's {self.max_bytes}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.entry(key), data)
            self._evict()
        except OSError as exc:
            return f"install not cached: {exc}"
        note = f"install cached ({len(data) // 1000} kB, {key[:12]})"
        remote = self.remote
        if remote is not None and remote.put_url and self.upload is not None:
            shared = self.upload(remote.put_url, data)
            note += "; shared" if shared else "; not shared (upload refused or failed)"
        return note

    def _evict(self) -> None:
        """Drop the least recently used entries until the directory fits `max_bytes`."""
        entries = []
        for path in self.root.glob("*.tar"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
            total -= size


def pack(node_modules: Path, key: str) -> bytes:
    """`node_modules` as a tar, led by a manifest of every file's SHA-256. Not compressed:
    unpacking is on every warm build's path, and inflating costs more than it saves."""
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    members: list[tuple[Path, str]] = []
    for path in sorted(node_modules.rglob("*")):
        rel = path.relative_to(node_modules.parent).as_posix()
        if path.is_symlink():
            links[rel] = os.readlink(path)
        elif path.is_file():
            files[rel] = _sha256_file(path)
        elif not path.is_dir():
            continue
        members.append((path, rel))
    manifest = json.dumps({"format": FORMAT, "key": key, "files": files, "links": links}).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        for path, rel in members:
            tar.add(path, arcname=rel, recursive=False)
    return buf.getvalue()


def _unpack(entry: Path, project: Path, key: str, lockfile: str | None) -> None:
    """Extract in one streaming pass, hashing each file as it is written, then check the
    tree against the manifest (and the lockfile); raises EntryInvalid with what was wrong."""
    target = project / "node_modules"
    _discard(target)
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    try:
        with tarfile.open(entry, mode="r:") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise EntryInvalid("no manifest")
            raw = tar.extractfile(first)
            manifest = json.loads(raw.read() if raw is not None else b"")
            if not isinstance(manifest, dict) or manifest.get("key") != key:
                raise EntryInvalid("the manifest is for another key")
            while (member := tar.next()) is not None:
                _extract(tar, member, project, files, links)
    except (OSError, tarfile.TarError, ValueError, EOFError) as exc:
        raise EntryInvalid(f"unreadable ({type(exc).__name__}: {exc})") from exc
    wanted = manifest.get("files")
    if files != wanted or links != manifest.get("links"):
        wanted = wanted if isinstance(wanted, dict) else {}
        odd = sorted(p for p in set(files) | set(wanted) if files.get(p) != wanted.get(p))
        raise EntryInvalid(f"the tree differs from what was installed: {odd[:3] or 'links'}")
    if lockfile is not None:
        _verify_lockfile(project, lockfile)


def _extract(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    project: Path,
    files: dict[str, str],
    links: dict[str, str],
) -> None:
    """One member, only under node_modules/, through tarfile's `data` filter (no absolute
    paths, no `..`, no links leaving the tree, no devices); files hashed as written."""
    name = member.name
    if name != "node_modules" and not name.startswith("node_modules/"):
        raise EntryInvalid(f"{name!r} is outside node_modules")
    safe = tarfile.data_filter(member, str(project))
    path = project / safe.name
    if safe.isdir():
        path.mkdir(parents=True, exist_ok=True)
    elif safe.issym():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(safe.linkname, path)
        links[safe.name] = safe.linkname
    elif safe.isfile():
        source = tar.extractfile(member)
        if source is None:
            raise EntryInvalid(f"{name!r} has no content")
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with path.open("xb") as out:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        path.chmod(safe.mode if safe.mode is not None else 0o644)
        files[safe.name] = digest.hexdigest()
    else:
        raise EntryInvalid(f"{name!r} is neither a file, a directory nor a link")


def _verify_lockfile(project: Path, lockfile: str) -> None:
    """Every package the lockfile installs is in the tree at the locked name and version."""
    try:
        packages = json.loads(lockfile).get("packages") or {}
    except (ValueError, AttributeError):
        return  # npm ci refused such a lockfile: no entry can exist for it
    for path, entry in packages.items():
        if not path or not isinstance(entry, dict) or entry.get("link") or entry.get("optional"):
            continue
        try:
            installed = json.loads((project / path / "package.json").read_text())
        except (OSError, ValueError) as exc:
            raise EntryInvalid(f"{path} is not installed") from exc
        name = entry.get("name") or path.rsplit("node_modules/", 1)[-1]
        if installed.get("version") != entry.get("version") or installed.get("name") != name:
            raise EntryInvalid(f"{path} is not {name}@{entry.get('version')}")


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _md5_matches(path: Path, md5: str | None) -> bool:
    if md5 is None:
        return False
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == md5


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(target: Path, data: bytes) -> None:
    """Write a sibling temp file and rename it over `target`: readers see a whole entry."""
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _discard(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
