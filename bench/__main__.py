"""`python -m bench [P1 P2 ...]`: measure the figures, print the table, write bench/results.json.

Without arguments every figure runs. Each figure stands next to a baseline measured in
the same run; a figure that cannot run here (no Chromium, no web/dist) is reported as
skipped with the reason instead of failing the others.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import Figure, table

RESULTS = Path(__file__).with_name("results.json")
ORDER = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11", "Q1")


class _Stack:
    """P2, P5 and P6 share one `kiln dev` process and one paced model, started on first use."""

    def __init__(self) -> None:
        self._parts: tuple[Any, Any] | None = None

    def get(self) -> tuple[Any, Any]:
        if self._parts is None:
            from bench.devstack import DevStack
            from bench.fake_model import PacedModel

            model = PacedModel()
            try:
                self._parts = (DevStack(model.url), model)
            except Exception:
                model.close()
                raise
        return self._parts

    def stop(self) -> None:
        if self._parts is not None:
            stack, model = self._parts
            stack.stop()
            model.close()
            self._parts = None


def _runners(shared: _Stack) -> list[tuple[set[str], Callable[[set[str]], list[Figure]]]]:
    def p2_p5(wanted: set[str]) -> list[Figure]:
        from bench import pipeline

        return [f for f in pipeline.run(*shared.get()) if f.id.split("-")[0] in wanted]

    def p6(_: set[str]) -> list[Figure]:
        from bench import load
        from bench.devstack import DevStack
        from bench.fake_model import PacedModel

        figures = [load.run(*shared.get())]
        shared.stop()
        # the same load without the emulator's journal tells its fsyncs apart from kiln
        model = PacedModel()
        try:
            stack = DevStack(model.url, in_memory=True)
            try:
                figures.append(load.run(stack, model, variant="memory"))
            finally:
                stack.stop()
        finally:
            model.close()
        return figures

    def p1(_: set[str]) -> list[Figure]:
        from bench import preview

        return preview.run()

    def p9(_: set[str]) -> list[Figure]:
        from bench import packages

        return packages.run()

    def p10(_: set[str]) -> list[Figure]:
        from bench import gate

        return gate.run()

    def p3(_: set[str]) -> list[Figure]:
        from bench import polling

        return polling.run()

    def p4(_: set[str]) -> list[Figure]:
        from bench import coldstart

        return coldstart.run()

    def p7(_: set[str]) -> list[Figure]:
        from bench import context

        return [context.run()]

    def p8(_: set[str]) -> list[Figure]:
        from bench import web

        return [web.run()]

    def q1(_: set[str]) -> list[Figure]:
        from bench import checks

        return checks.run()

    def p11(_: set[str]) -> list[Figure]:
        from bench import push

        return push.run()

    # cheap and deterministic first; the browser last (it is the heaviest on 2 cores)
    return [
        ({"P7"}, p7),
        ({"P8"}, p8),
        ({"P4"}, p4),
        ({"P3"}, p3),
        ({"P11"}, p11),
        ({"P2", "P5"}, p2_p5),
        ({"P6"}, p6),
        ({"P1"}, p1),
        ({"P9"}, p9),
        ({"P10"}, p10),
        ({"Q1"}, q1),
    ]


def main(argv: list[str]) -> int:
    wanted = {a.upper() for a in argv} or set(ORDER)
    unknown = wanted - set(ORDER)
    if unknown:
        print(f"unknown figures: {sorted(unknown)}; known: {' '.join(ORDER)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    shared = _Stack()
    runners = _runners(shared)
    try:
        for n, (ids, runner) in enumerate(runners):
            mine = ids & wanted
            if not mine:
                continue
            t = time.monotonic()
            print(f"bench: {' '.join(sorted(mine))} ...", file=sys.stderr, flush=True)
            try:
                figures += runner(mine)
            except Exception as exc:
                traceback.print_exc()
                for i in sorted(mine):
                    errors[i] = f"{type(exc).__name__}: {exc}"
            if not any(i & {"P2", "P5", "P6"} & wanted for i, _ in runners[n + 1 :]):
                shared.stop()
            took = time.monotonic() - t
            print(f"bench: {' '.join(sorted(mine))} took {took:.0f} s", file=sys.stderr)
    finally:
        shared.stop()
    figures.sort(key=lambda f: (ORDER.index(f.id.split("-")[0]), f.id))
    print(table(figures))
    missed = [f.id for f in figures if f.met is False]
    if missed:
        print(f"\ngoals missed: {', '.join(missed)} (see notes/extra in {RESULTS.name})")
    for i, err in errors.items():
        print(f"{i}: not measured: {err}")
    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": _cpus(),
            "platform": platform.platform(),
        },
        "seconds": round(time.monotonic() - started, 1),
        "figures": [f.to_json() for f in figures],
        "not_measured": errors,
    }
    if wanted == set(ORDER):
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    else:
        # a partial run must not replace the committed full results
        partial = Path(tempfile.gettempdir()) / "kiln-bench-partial.json"
        partial.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"partial results: {partial}", file=sys.stderr)
    return 1 if errors else 0


def _cpus() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
