"""Serve the embedded Milvus Lite server in the foreground until Ctrl-C, for manual use and other tools.

Connect with MilvusClient(uri="http://127.0.0.1:PORT"). Data lives in --data-dir (kept) or a temp dir
(removed at exit). --backend-python serves the milvus-lite of another interpreter (e.g. a venv with 2.5.x).
"""

from __future__ import annotations

import argparse
import time

from vdb_harness.kernel.console import make_console

from vdb_harness.cli_common import EXIT_FAILED, EXIT_OK
from scenarios.embedded import EmbeddedMilvus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness serve``."""
    parser.add_argument("--backend", choices=["lite", "lite25", "standalone"], default="lite",
                        help="lite: Milvus Lite 3, the one installed (default; pure Python, a few QPS); lite25: "
                             "Milvus Lite 2.5.1, the C++ engine (~1000 QPS), from a virtualenv created on first use; "
                             "standalone: the PyPI 'milvus' package's embedded standalone server")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    parser.add_argument("--data-dir", metavar="DIR", help="keep data in DIR (default: temp dir, removed at exit)")
    parser.add_argument("--backend-python", metavar="PYTHON",
                        help="interpreter whose milvus-lite serves (default: this one)")


def run(args: argparse.Namespace) -> int:
    """Start the server, print its URI, wait for Ctrl-C, stop it; exit 1 if the server dies on its own."""
    console = make_console()
    server = EmbeddedMilvus(data_dir=args.data_dir, port=args.port, python=args.backend_python,
                            backend=args.backend, start_timeout=240.0 if args.backend == "standalone" else 90.0)
    info = server.start()
    try:
        from scenarios import engines

        console.print(f"{info.engine} {info.backend_version} serving at [bold]{info.uri}[/]")
        console.print(engines.describe(engines.name_of(info.engine)))
        console.print(f"data: {info.data_dir}{'' if args.data_dir else ' (temporary)'}   press Ctrl-C to stop")
        while server.alive():
            time.sleep(0.5)
        console.print(f"[red]the server exited on its own (code {server.exit_code()})[/]")
        return EXIT_FAILED
    except KeyboardInterrupt:
        console.print("stopping...")
        return EXIT_OK
    finally:
        server.stop()
