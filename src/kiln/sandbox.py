"""The build sandbox: where code that a visitor or a model wrote runs on kiln's side.

A project's `vite.config.*`, its plugins and the app itself (in the render check's
Chromium) are hostile code. On one machine (`kiln dev`, tests) each build step and the
render check's browser run under bubblewrap:

- own PID, mount, IPC, UTS and user namespaces with a private `/proc`: kiln's processes,
  their command lines and environments (`/proc/<pid>/environ`) are not there;
- a filesystem of the OS read-only plus the project and a throwaway HOME: no `.kiln/`,
  no checkout, no other build;
- no network, except for `npm install`, which runs no package code (`--ignore-scripts`)
  and whose inputs are checked first (`kiln.gate.build.foreign_sources`);
- the process is started with the build's allow-listed environment, so even the
  sandbox's own init (PID 1 inside) holds no secret.

On AWS the builder function is the sandbox: its role may write its logs and nothing
else (`infra/template.yaml`, `BuilderFunction`), so there is nothing to steal.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Sandbox", "SandboxMode", "SandboxUnavailable", "find_sandbox"]

SandboxMode = Literal["auto", "bwrap", "none"]

_OS_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = (
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/localtime",
    "/etc/fonts",
    "/etc/chromium",
    "/etc/chromium.d",
)
UNSANDBOXED = (
    "WARNING: builds run WITHOUT a sandbox (bubblewrap not found): a project's build "
    "config can read this machine's files and other processes' environments. "
    "Install bubblewrap (Debian: apt-get install bubblewrap) or run builds on AWS."
)


class SandboxUnavailable(RuntimeError):
    """`build_sandbox = "bwrap"` was asked for and bubblewrap cannot run here."""


@dataclass(frozen=True)
class Sandbox:
    """How to wrap a command; `bwrap is None` means run it as it is (and say so)."""

    bwrap: str | None

    @property
    def description(self) -> str:
        if self.bwrap is None:
            return UNSANDBOXED
        return "sandbox: bubblewrap (private /proc, read-only OS, no network after install)"

    def wrap(
        self,
        argv: Sequence[str],
        *,
        writable: Sequence[Path],
        readable: Sequence[str | Path] = (),
        network: bool = False,
        cwd: Path | None = None,
        binds: Mapping[Path, Path] | None = None,
    ) -> list[str]:
        """`argv` inside the sandbox with only `writable` and `readable` visible, and each
        writable directory of `binds` (place -> directory) mounted over its place."""
        if self.bwrap is None:
            return list(argv)
        args = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
        if network:
            args.append("--share-net")
        for path in _OS_DIRS:
            args += _mount_os(path)
        for path in _ETC:
            if os.path.exists(path):
                args += ["--ro-bind", path, path]
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
        for item in readable:
            real = os.path.realpath(item)
            if os.path.exists(real) and not _under_os(real):
                args += ["--ro-bind", real, real]
        for place in writable:
            args += ["--bind", str(place), str(place)]
        for place, directory in (binds or {}).items():
            args += ["--bind", str(directory), str(place)]
        if cwd is not None:
            args += ["--chdir", str(cwd)]
        return [*args, "--", *argv]

    def launcher(self, program: str, *, writable: Sequence[Path], directory: Path) -> str:
        """An executable script that starts `program` in the sandbox with no network
        (Playwright needs a path for `executable_path`, not an argv)."""
        if self.bwrap is None:
            return program
        argv = self.wrap([program], writable=writable, network=False)
        script = directory / "sandboxed-program"
        quoted = " ".join(_sh_quote(a) for a in argv)
        script.write_text(f'#!/bin/sh\nexec {quoted} "$@"\n', encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return str(script)


def find_sandbox(mode: SandboxMode) -> Sandbox:
    """bubblewrap where it is installed (`auto`), required (`bwrap`) or refused (`none`)."""
    if mode == "none":
        return Sandbox(None)
    bwrap = shutil.which("bwrap")
    if bwrap is None and mode == "bwrap":
        raise SandboxUnavailable("build_sandbox is 'bwrap' but bubblewrap is not installed")
    return Sandbox(bwrap)


def _mount_os(path: str) -> list[str]:
    if os.path.islink(path):
        return ["--symlink", os.readlink(path), path]
    if os.path.isdir(path):
        return ["--ro-bind", path, path]
    return []


def _under_os(path: str) -> bool:
    return any(path == d or path.startswith(d + "/") for d in ("/usr", "/bin", "/lib"))


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
