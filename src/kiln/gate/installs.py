"""Reused installs: one packed `node_modules` per exact dependency set.

The gate paid `npm ci` for every version and every fix round although most versions
change no dependency. An entry is keyed by what decides the installed tree (the lockfile,
else the manifest and the registry; package.json's dependency fields; Node's version,
the platform and npm's flags) and holds `node_modules` as a tar led by a manifest of its
files and links.

Trust:
- an entry is written only right after a successful `npm ci` in the sandbox, which runs
  no package code (`--ignore-scripts`), and before the project's own code (type-check,
  `vite build`) runs;
- a restored tree is verified before use: the tar's SHA-256 is the one in its name (on
  AWS its MD5 is the stored object's), it holds only `node_modules/` (no absolute path,
  no `..`, no link leading out), the tree is the manifest's, and every package the
  lockfile names is there at its version; a mismatch deletes the entry and the build
  installs cleanly;
- writes go to a temp file renamed into place and the tar is deterministic, so
  concurrent builds of one key leave one whole entry; the local level is bounded (least
  recently used go first);
- for builds in the sandbox (`shared`), an entry is unpacked and verified once into a
  tree (`trees/<entry>/node_modules`, renamed into place whole; a fresh install is moved
  there before project code runs) that builds link to and see only read-only, so a
  warm build unpacks nothing; unsandboxed builds still unpack their own copy.

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
import posixpath
import shutil
import sys
import tarfile
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["FORMAT", "MOUNT_POINTS", "InstallCache", "Remote", "Restored", "install_key"]

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
_WRITERS = 8


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
    tree: Path | None = None  # the shared read-only tree that `node_modules` links to


Fetch = Callable[[str], bytes | None]
Upload = Callable[[str, bytes], bool]


class InstallCache:
    """A directory of entries `<key>.<sha256>.tar` (the name carries the tar's hash, so an
    entry is one file, written at once), plus an optional `Remote` level."""

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

    def entries(self, key: str) -> list[Path]:
        """The entries stored for `key`, newest first."""
        found = []
        for path in self.root.glob(f"{key}.*.tar"):
            with contextlib.suppress(OSError):
                found.append((path.stat().st_mtime, path))
        return [path for _, path in sorted(found, reverse=True)]

    def restore(
        self, key: str, project: Path, lockfile: str | None, *, shared: bool = False
    ) -> Restored:
        """Unpack a verified entry into `project/node_modules`, or leave none there.

        `shared` (only for builds that see the tree read-only: `Restored.tree` must be
        mounted so) links `node_modules` to the entry's unpacked tree instead, unpacking
        and verifying it once, the first time."""
        notes: list[str] = []
        remote = self.remote
        for local in self.entries(key):
            if remote is not None and not _md5_matches(local, remote.md5):
                notes.append("the local install entry differs from the stored one: not used")
                continue
            try:
                tree = self._place(local, project, key, lockfile, shared=shared)
                with contextlib.suppress(OSError):
                    os.utime(local)  # recently used: evicted last
                note = f"node_modules from the install cache ({key[:12]}{_how(tree)})"
                return Restored(True, "local", "\n".join([*notes, note]), tree)
            except EntryInvalid as exc:
                notes.append(f"discarded a cached install that failed verification: {exc}")
                _discard(project / "node_modules")
                with contextlib.suppress(OSError):
                    local.unlink()
                _drop_tree(self._tree_of(local))
        if remote is not None and remote.get_url and self.fetch is not None:
            data = self.fetch(remote.get_url)
            if data is not None and remote.md5 == _md5(data):
                try:
                    self.root.mkdir(parents=True, exist_ok=True)
                    local = self._store(key, data)
                    tree = self._place(local, project, key, lockfile, shared=shared)
                    note = f"node_modules from the shared install cache ({key[:12]}{_how(tree)})"
                    return Restored(True, "remote", "\n".join([*notes, note]), tree)
                except (EntryInvalid, OSError) as exc:
                    notes.append(f"the shared install entry failed verification: {exc}")
                    _discard(project / "node_modules")
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
            kept = self._store(key, data)
            for other in self.entries(key):
                if other != kept:
                    other.unlink(missing_ok=True)
            self._evict()
        except OSError as exc:
            return f"install not cached: {exc}"
        note = f"install cached ({len(data) // 1000} kB, {key[:12]})"
        remote = self.remote
        if remote is not None and remote.put_url and self.upload is not None:
            shared = self.upload(remote.put_url, data)
            note += "; shared" if shared else "; not shared (upload refused or failed)"
        return note

    def adopt(self, key: str, project: Path) -> Path | None:
        """Move a `node_modules` just installed and saved as `key` (no project code has run
        since) to be its entry's shared tree, and link it back; the tree, or None when it
        stays where it is (no entry, another filesystem)."""
        entries = self.entries(key)
        if not entries:
            return None
        tree = self._tree_of(entries[0])
        modules = project / "node_modules"
        if not _ready(tree):
            _drop_tree(tree)
            temp = self._trees / f".new-{uuid.uuid4().hex}"
            try:
                temp.mkdir(parents=True)
                os.rename(modules, temp / "node_modules")
            except OSError:
                _drop_tree(temp)
                return None
            if not _finish_tree(temp, tree):
                os.rename(temp / "node_modules", modules)
                _drop_tree(temp)
                return None
        _discard(modules)
        modules.symlink_to(tree / "node_modules", target_is_directory=True)
        self._evict(keep=entries[0])
        return tree

    @property
    def _trees(self) -> Path:
        """Real paths: the sandbox mounts a tree where a project's link leads."""
        return self.root.resolve() / "trees"

    def _tree_of(self, entry: Path) -> Path:
        return self._trees / entry.name.removesuffix(".tar")

    def _place(
        self, entry: Path, project: Path, key: str, lockfile: str | None, *, shared: bool
    ) -> Path | None:
        """Unpack `entry` into the project, or (shared) link the project to its tree,
        unpacked and verified now if it is not there yet; raises EntryInvalid."""
        if not shared:
            _unpack(entry, project, key, lockfile)
            return None
        tree = self._tree_of(entry)
        if not _ready(tree):
            _drop_tree(tree)
            temp = self._trees / f".new-{uuid.uuid4().hex}"
            try:
                temp.mkdir(parents=True)
                _unpack(entry, temp, key, lockfile)
            except BaseException:
                _drop_tree(temp)
                raise
            if not _finish_tree(temp, tree):
                _drop_tree(temp)
                _unpack(entry, project, key, lockfile)
                return None
            self._evict(keep=entry)
        modules = project / "node_modules"
        _discard(modules)
        project.mkdir(parents=True, exist_ok=True)
        modules.symlink_to(tree / "node_modules", target_is_directory=True)
        return tree

    def _store(self, key: str, data: bytes) -> Path:
        target = self.root / f"{key}.{hashlib.sha256(data).hexdigest()}.tar"
        _write_atomic(target, data)
        return target

    def _evict(self, keep: Path | None = None) -> None:
        """Drop the least recently used entries (and their trees, counted at the entry's
        size) but `keep` until the directory fits `max_bytes`; then trees whose entry is
        gone."""
        entries = []
        for path in self.root.glob("*.tar"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                copies = 2 if self._tree_of(path).is_dir() else 1
                entries.append((stat.st_mtime, stat.st_size * copies, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
            _drop_tree(self._tree_of(path))
            total -= size
        with contextlib.suppress(OSError):
            for tree in self._trees.iterdir():
                orphan = not (self.root / f"{tree.name}.tar").exists()
                if tree.name.startswith(".gone-") or (orphan and not tree.name.startswith(".")):
                    _drop_tree(tree)


def pack(node_modules: Path, key: str) -> bytes:
    """`node_modules` as a tar led by a manifest of its files (with sizes) and links.
    Deterministic (no times, owners), so concurrent installs of one key write the same
    bytes; not compressed: unpacking is on every warm build's path."""
    files: dict[str, int] = {}
    links: dict[str, str] = {}
    members: list[tuple[Path, str]] = []
    for path in sorted(node_modules.rglob("*")):
        rel = path.relative_to(node_modules.parent).as_posix()
        if path.is_symlink():
            links[rel] = os.readlink(path)
        elif path.is_file():
            files[rel] = path.stat().st_size
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
            tar.add(path, arcname=rel, recursive=False, filter=_anonymous)
    return buf.getvalue()


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode &= 0o755
    return info


def _unpack(entry: Path, project: Path, key: str, lockfile: str | None) -> None:
    """Check the tar's hash against its name, extract it (the kernel copies the bytes),
    then check the tree against the manifest and the lockfile; raises EntryInvalid."""
    target = project / "node_modules"
    _discard(target)
    files: dict[str, int] = {}
    links: dict[str, str] = {}
    try:
        with entry.open("rb") as raw:
            if hashlib.file_digest(raw, "sha256").hexdigest() != entry.name.split(".")[-2]:
                raise EntryInvalid("its bytes do not match its hash")
            raw.seek(0)
            with tarfile.open(fileobj=raw, mode="r:") as tar:
                first = tar.next()
                if first is None or first.name != MANIFEST or not first.isfile():
                    raise EntryInvalid("no manifest")
                data = tar.extractfile(first)
                manifest = json.loads(data.read() if data is not None else b"")
                if not isinstance(manifest, dict) or manifest.get("key") != key:
                    raise EntryInvalid("the manifest is for another key")
                copies: list[tuple[Path, int, int, int]] = []
                while (member := tar.next()) is not None:
                    _extract(member, project, files, links, copies)
                with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
                    list(pool.map(lambda c: _write_file(raw.fileno(), *c), copies))
    except (OSError, tarfile.TarError, ValueError, EOFError, IndexError) as exc:
        raise EntryInvalid(f"unreadable ({type(exc).__name__}: {exc})") from exc
    if files != manifest.get("files") or links != manifest.get("links"):
        raise EntryInvalid("the tree differs from the manifest")
    if lockfile is not None:
        _verify_lockfile(project, lockfile)


def _extract(
    member: tarfile.TarInfo,
    project: Path,
    files: dict[str, int],
    links: dict[str, str],
    copies: list[tuple[Path, int, int, int]],
) -> None:
    """One member, only inside node_modules/: no absolute path, no `..`, nothing under a
    link, links that stay inside, no devices or hard links. Directories and links are
    made here; files are queued in `copies` (written side by side: creating files is
    what a restore mostly waits on)."""
    rel = PurePosixPath(member.name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.parts[0] != "node_modules":
        raise EntryInvalid(f"{member.name!r} is outside node_modules")
    if any(str(parent) in links for parent in rel.parents):
        raise EntryInvalid(f"{member.name!r} is under a link")
    path = project.joinpath(*rel.parts)
    if member.isdir():
        path.mkdir(parents=True, exist_ok=True)
    elif member.issym():
        inside = posixpath.normpath(posixpath.join(str(rel.parent), member.linkname))
        if member.linkname.startswith("/") or not inside.startswith("node_modules/"):
            raise EntryInvalid(f"link {member.name!r} leads out of node_modules")
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(member.linkname, path)
        links[member.name] = member.linkname
    elif member.isreg():
        path.parent.mkdir(parents=True, exist_ok=True)
        if member.name in files:
            raise EntryInvalid(f"{member.name!r} appears twice")
        copies.append((path, member.mode & 0o755 | 0o600, member.offset_data, member.size))
        files[member.name] = member.size
    else:
        raise EntryInvalid(f"{member.name!r} is neither a file, a directory nor a link")


def _write_file(source: int, path: Path, mode: int, offset: int, size: int) -> None:
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        _copy(source, out, offset, size)
    finally:
        os.close(out)


def _copy(source: int, out: int, offset: int, size: int) -> None:
    """`size` bytes of `source` from `offset` into `out`, in the kernel where it can."""
    done = 0
    while done < size:
        try:
            n = os.copy_file_range(source, out, size - done, offset + done)
        except OSError:
            chunk = os.pread(source, min(size - done, _CHUNK), offset + done)
            n = os.write(out, chunk) if chunk else 0
        if n == 0:
            raise EntryInvalid("the archive ends early")
        done += n


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


MOUNT_POINTS = (".vite-temp", ".vite", ".cache")
"""Where builds write inside node_modules (Vite's bundled config and cache, the
`find-cache-dir` convention of plugins): each build mounts its own writable directory
there over the read-only tree."""


def _ready(tree: Path) -> bool:
    """A whole tree with every mount point (an older layout is unpacked again)."""
    return all((tree / "node_modules" / name).is_dir() for name in MOUNT_POINTS)


def _how(tree: Path | None) -> str:
    return ", shared read-only" if tree is not None else ""


def _finish_tree(temp: Path, tree: Path) -> bool:
    """Give a verified tree in `temp` its mount points and its name, at once; a tree that
    a concurrent build named first is kept and ours dropped. False (`temp` left to the
    caller) when there is none."""
    try:
        for name in MOUNT_POINTS:
            (temp / "node_modules" / name).mkdir(exist_ok=True)
        os.rename(temp, tree)
    except OSError:
        if not _ready(tree):
            return False
        _drop_tree(temp)
    return True


def _drop_tree(tree: Path) -> None:
    """Rename first, then delete: a half-deleted tree is never taken for a whole one."""
    if not tree.exists():
        return
    gone = tree.with_name(f".gone-{uuid.uuid4().hex}")
    try:
        os.rename(tree, gone)
    except OSError:
        return
    shutil.rmtree(gone, ignore_errors=True)


def _discard(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
