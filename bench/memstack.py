"""`python -m bench.memstack --port N`: the `kiln dev` stack with the emulator in memory
(no journal), to tell the cost of the journal's fsync'd writes apart from kiln's own.
Same functions, pumps and ASGI app as `kiln dev`; only persistence differs."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from kiln.local.server import asgi_app, start_stack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    stack = start_stack(None)
    print(f"kiln (in-memory emulator): http://127.0.0.1:{args.port}", flush=True)
    try:
        uvicorn.run(
            asgi_app(stack, Path("web/dist")),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            ws="websockets-sansio",
        )
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
