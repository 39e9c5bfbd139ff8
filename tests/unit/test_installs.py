"""The install cache's key, bound and unpacking rules (kiln.gate.installs), on plain files."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import tarfile
from pathlib import Path

import pytest

from kiln.gate.installs import MANIFEST, MOUNT_POINTS, InstallCache, install_key

PKG = json.dumps({"name": "app", "dependencies": {"a": "1.0.0"}, "scripts": {"dev": "vite"}})
LOCK = json.dumps({"lockfileVersion": 3, "packages": {"": {}, "node_modules/a": {"version": "1"}}})


def key(files: dict[str, str], **over: object) -> str:
    args: dict[str, object] = {"node_version": "v22.0.0", "registry": "https://r/", "flags": ["ci"]}
    return install_key(files, **{**args, **over})  # type: ignore[arg-type]


def test_the_key_ignores_source_files_and_scripts_but_not_the_dependency_set() -> None:
    base = {"package.json": PKG, "package-lock.json": LOCK, "src/App.tsx": "1"}
    edited = {**base, "src/App.tsx": "2"}
    scripts = {**base, "package.json": PKG.replace('"vite"', '"vite --host"')}
    assert key(base) == key(edited) == key(scripts)
    assert key(base) != key({**base, "package-lock.json": LOCK.replace('"1"', '"2"')})
    assert key(base) != key({**base, "package.json": PKG.replace("1.0.0", "1.0.1")})
    assert key(base) != key({k: v for k, v in base.items() if k != "package-lock.json"})


@pytest.mark.parametrize(
    "change",
    [{"node_version": "v20.0.0"}, {"registry": "https://other/"}, {"flags": ["ci", "--x"]}],
)
def test_the_key_changes_with_node_the_registry_and_npms_flags(change: dict[str, object]) -> None:
    files = {"package.json": PKG, "package-lock.json": LOCK}
    assert key(files) != key(files, **change)


def installed(root: Path, size: int) -> Path:
    project = root / f"p{size}"
    (project / "node_modules" / "a").mkdir(parents=True)
    (project / "node_modules" / "a" / "package.json").write_text('{"name":"a","version":"1"}')
    (project / "node_modules" / "a" / "blob").write_bytes(bytes(range(256)) * (size // 256))
    return project


def test_the_least_recently_used_entries_go_when_the_cache_is_full(tmp_path: Path) -> None:
    cache = InstallCache(tmp_path / "installs", max_bytes=250_000)
    for n, name in enumerate(("old", "used", "new")):
        cache.save(name, installed(tmp_path / name, 100_000))
        if n == 1:
            assert cache.restore("old", tmp_path / "x", LOCK).hit  # "old" is used again
    kept = sorted(p.name.split(".")[0] for p in (tmp_path / "installs").glob("*.tar"))
    assert kept == ["new", "old"]


def test_an_install_larger_than_the_cache_is_not_kept(tmp_path: Path) -> None:
    cache = InstallCache(tmp_path / "installs", max_bytes=10_000)
    note = cache.save("big", installed(tmp_path, 100_000))
    assert "not cached" in note
    assert not cache.restore("big", tmp_path / "x", None).hit


def store(cache: InstallCache, data: bytes) -> Path:
    """An entry named by its bytes' hash, as if kiln had written it."""
    cache.root.mkdir(exist_ok=True)
    entry = cache.root / f"k.{hashlib.sha256(data).hexdigest()}.tar"
    entry.write_bytes(data)
    return entry


def entry_with(member: tarfile.TarInfo, data: bytes = b"", files: object = None) -> bytes:
    listed = {member.name: len(data)} if files is None else files
    manifest = json.dumps({"key": "k", "files": listed, "links": {}}).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize(
    "member",
    [
        pytest.param(tarfile.TarInfo("src/main.js"), id="outside-node-modules"),
        pytest.param(tarfile.TarInfo("node_modules/../../escape"), id="dot-dot"),
        pytest.param(tarfile.TarInfo("/etc/cron.d/x"), id="absolute"),
        pytest.param(link("node_modules/x", "/etc/passwd"), id="link-out"),
        pytest.param(link("node_modules/x", "../../../outside"), id="relative-link-out"),
    ],
)
def test_an_entry_that_reaches_outside_node_modules_is_refused(
    tmp_path: Path, member: tarfile.TarInfo
) -> None:
    cache = InstallCache(tmp_path / "installs", max_bytes=1_000_000)
    entry = store(cache, entry_with(member, b"pwned"))
    project = tmp_path / "build" / "project"
    project.mkdir(parents=True)

    restored = cache.restore("k", project, None)

    assert not restored.hit
    assert "failed verification" in restored.note
    assert not entry.exists()
    assert [p.name for p in tmp_path.rglob("*") if p.name in ("escape", "x", "main.js")] == []


def test_an_entry_whose_tree_is_not_its_manifests_is_refused(tmp_path: Path) -> None:
    """Rewritten and renamed to match its hash, but listing other files than it holds."""
    cache = InstallCache(tmp_path / "installs", max_bytes=1_000_000)
    extra = tarfile.TarInfo("node_modules/a/index.js")
    store(cache, entry_with(extra, b"pwned", files={"node_modules/a/other.js": 5}))
    project = tmp_path / "project"
    project.mkdir()

    restored = cache.restore("k", project, None)

    assert not restored.hit
    assert "differs from the manifest" in restored.note
    assert not (project / "node_modules").exists()


def test_an_entry_that_lacks_a_locked_package_is_refused(tmp_path: Path) -> None:
    cache = InstallCache(tmp_path / "installs", max_bytes=1_000_000)
    cache.save("k", installed(tmp_path, 1000))
    lock = json.loads(LOCK)
    lock["packages"]["node_modules/b"] = {"version": "2.0.0"}

    restored = cache.restore("k", tmp_path / "x", json.dumps(lock))

    assert not restored.hit
    assert "node_modules/b is not installed" in restored.note


def test_the_key_differs_between_x64_and_arm64(monkeypatch: pytest.MonkeyPatch) -> None:
    """npm installs another platform binary (TypeScript 7, esbuild) on arm64 Lambda."""
    files = {"package.json": PKG, "package-lock.json": LOCK}
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    x64 = key(files)
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert key(files) != x64


def test_a_shared_restore_links_one_verified_tree_and_unpacks_it_only_once(
    tmp_path: Path,
) -> None:
    cache = InstallCache(tmp_path / "installs", max_bytes=1_000_000)
    cache.save("k", installed(tmp_path, 1000))
    (entry,) = cache.entries("k")

    first = cache.restore("k", tmp_path / "one", LOCK, shared=True)
    entry.write_bytes(b"")  # a second unpack would fail verification
    second = cache.restore("k", tmp_path / "two", LOCK, shared=True)

    assert first.hit and second.hit and first.tree == second.tree is not None
    for project in ("one", "two"):
        modules = tmp_path / project / "node_modules"
        assert modules.is_symlink() and modules.resolve() == first.tree / "node_modules"
    assert {p.name for p in (first.tree / "node_modules").iterdir()} == {"a", *MOUNT_POINTS}


def test_an_entry_that_fails_verification_leaves_no_shared_tree(tmp_path: Path) -> None:
    cache = InstallCache(tmp_path / "installs", max_bytes=1_000_000)
    cache.save("k", installed(tmp_path, 1000))
    lock = json.loads(LOCK)
    lock["packages"]["node_modules/b"] = {"version": "2.0.0"}

    restored = cache.restore("k", tmp_path / "x", json.dumps(lock), shared=True)

    assert not restored.hit and restored.tree is None
    assert list((tmp_path / "installs" / "trees").iterdir()) == []
    assert not (tmp_path / "x" / "node_modules").exists()


def test_a_fresh_install_becomes_the_shared_tree_and_goes_with_its_entry(tmp_path: Path) -> None:
    cache = InstallCache(tmp_path / "installs", max_bytes=250_000)
    project = installed(tmp_path / "old", 100_000)
    cache.save("old", project)
    tree = cache.adopt("old", project)
    assert tree is not None and (project / "node_modules").resolve() == tree / "node_modules"
    assert (tree / "node_modules" / "a" / "blob").stat().st_size == 99_840

    cache.save("new", installed(tmp_path / "new", 100_000))  # the old entry and tree: 200 kB

    assert not tree.exists()
    assert [p.name.split(".")[0] for p in (tmp_path / "installs").glob("*.tar")] == ["new"]


def test_a_tree_without_every_mount_point_is_unpacked_again(tmp_path: Path) -> None:
    """bubblewrap cannot make a mount point inside a read-only tree: an older layout
    would fail every build that mounts it."""
    cache = InstallCache(tmp_path / "installs", max_bytes=1_000_000)
    cache.save("k", installed(tmp_path, 1000))
    tree = cache.restore("k", tmp_path / "one", LOCK, shared=True).tree
    assert tree is not None
    (tree / "node_modules" / ".cache").rmdir()

    again = cache.restore("k", tmp_path / "two", LOCK, shared=True)

    assert again.hit and again.tree == tree
    assert (tree / "node_modules" / ".cache").is_dir()


def test_placing_a_tree_in_a_full_cache_evicts_another_entry_not_its_own(tmp_path: Path) -> None:
    cache = InstallCache(tmp_path / "installs", max_bytes=250_000)
    cache.save("old", installed(tmp_path / "old", 100_000))
    cache.save("new", installed(tmp_path / "new", 100_000))

    restored = cache.restore("old", tmp_path / "x", LOCK, shared=True)  # its tree: 300 kB

    assert restored.hit
    assert (tmp_path / "x" / "node_modules" / "a" / "package.json").is_file()
    assert [p.name.split(".")[0] for p in (tmp_path / "installs").glob("*.tar")] == ["old"]
