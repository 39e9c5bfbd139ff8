"""Which tsc the gate starts (kiln.gate.build.typecheck_command), on plain node_modules trees:
TypeScript 7's native binary for this platform directly, else the package's Node launcher."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import pytest

from kiln.gate.build import NodeTools, typecheck_command

NODE = NodeTools(node="/usr/bin/node", npm=["/usr/bin/node", "npm-cli.js"], bin_dir="/usr/bin")


def package(folder: Path, name: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps({"name": name, "version": version}))
    return folder


def typescript(root: Path, version: str) -> Path:
    """node_modules/typescript with its bin/tsc launcher; the launcher's path."""
    folder = package(root / "node_modules" / "typescript", "typescript", version)
    (folder / "bin").mkdir()
    launcher = folder / "bin" / "tsc"
    launcher.write_text("#!/usr/bin/env node\n")
    return launcher


def native(folder: Path, version: str, arch: str) -> Path:
    """An installed `@typescript/typescript-<platform>-<arch>` package; its binary."""
    name = f"typescript-{sys.platform}-{arch}"
    pkg = package(folder / "@typescript" / name, f"@typescript/{name}", version)
    (pkg / "lib").mkdir()
    binary = pkg / "lib" / "tsc"
    binary.write_bytes(b"\x7fELF")
    binary.chmod(0o755)
    return binary


@pytest.fixture(autouse=True)
def on_x64(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")


def test_typescript_7_runs_its_native_binary_for_this_platform(tmp_path: Path) -> None:
    typescript(tmp_path, "7.0.2")
    binary = native(tmp_path / "node_modules", "7.0.2", "x64")
    native(tmp_path / "node_modules", "7.0.2", "arm64")
    assert typecheck_command(tmp_path, NODE) == [str(binary)]


def test_on_arm64_the_arm64_binary_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    typescript(tmp_path, "7.0.2")
    native(tmp_path / "node_modules", "7.0.2", "x64")
    binary = native(tmp_path / "node_modules", "7.0.2", "arm64")
    assert typecheck_command(tmp_path, NODE) == [str(binary)]


def test_a_binary_nested_under_typescript_wins_over_a_hoisted_one(tmp_path: Path) -> None:
    """Node resolves from typescript's own folder first, and so does the gate."""
    typescript(tmp_path, "7.0.2")
    native(tmp_path / "node_modules", "7.0.1", "x64")
    nested = native(tmp_path / "node_modules" / "typescript" / "node_modules", "7.0.2", "x64")
    assert typecheck_command(tmp_path, NODE) == [str(nested)]


def test_typescript_5_runs_on_node(tmp_path: Path) -> None:
    launcher = typescript(tmp_path, "5.9.3")
    native(tmp_path / "node_modules", "5.9.3", "x64")
    assert typecheck_command(tmp_path, NODE) == [NODE.node, str(launcher)]


def test_a_native_binary_of_another_version_is_not_run(tmp_path: Path) -> None:
    """A project that pins typescript and adds some other platform package gets the
    compiler it pinned."""
    launcher = typescript(tmp_path, "7.0.2")
    native(tmp_path / "node_modules", "7.1.0", "x64")
    assert typecheck_command(tmp_path, NODE) == [NODE.node, str(launcher)]


def test_a_native_binary_that_links_out_of_node_modules_is_not_run(tmp_path: Path) -> None:
    launcher = typescript(tmp_path, "7.0.2")
    binary = native(tmp_path / "node_modules", "7.0.2", "x64")
    binary.unlink()
    binary.symlink_to("/bin/sh")
    assert typecheck_command(tmp_path, NODE) == [NODE.node, str(launcher)]


def test_without_the_platform_package_the_launcher_runs(
    tmp_path: Path,
) -> None:
    launcher = typescript(tmp_path, "7.0.2")
    assert typecheck_command(tmp_path, NODE) == [NODE.node, str(launcher)]


def test_without_typescript_there_is_no_type_check(tmp_path: Path) -> None:
    (tmp_path / "node_modules").mkdir()
    assert typecheck_command(tmp_path, NODE) is None
