"""The embedded target: a real Milvus Lite server in a child process on a free loopback port.

Usage::

    with EmbeddedMilvus() as server:          # starts, waits until it answers, stops on exit (also on Ctrl-C)
        client = MilvusClient(uri=server.uri)

The child is ``scenarios/_embedded_child.py`` run by ``python`` (this interpreter, or ``backend_python`` to serve
a milvus-lite installed elsewhere). It dies with its parent (stdin EOF + PR_SET_PDEATHSIG), so no orphan is left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Optional

from vdb_harness.kernel.errors import InfrastructureError

CHILD_SCRIPT = Path(__file__).with_name("_embedded_child.py")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServerInfo:
    """What a started embedded server told us about itself."""

    uri: str
    port: int
    pid: int
    backend_version: str
    engine: str
    data_dir: str


class EmbeddedMilvus:
    """A Milvus Lite server owned by this process: :meth:`start`, :meth:`stop`, :meth:`restart`, :meth:`alive`."""

    def __init__(self, data_dir: str | os.PathLike | None = None, *, port: int = 0,
                 python: str | None = None, start_timeout: float = 90.0, log_path: str | None = None,
                 backend: str = "lite") -> None:
        """Configure (not start) a server. ``data_dir=None`` uses a temp dir removed at :meth:`stop`;
        a named ``data_dir`` keeps its data. ``port=0`` picks a free port. ``python`` is the interpreter
        whose milvus-lite serves (default: this one). ``backend`` is an engine of :mod:`scenarios.engines`:
        ``lite`` (this interpreter's Milvus Lite), ``lite25`` (Milvus Lite 2.5.1 from its managed virtualenv) or
        ``standalone`` (the PyPI ``milvus`` package's embedded Milvus standalone; slower to start, give it
        ``start_timeout`` >= 180). An explicit ``python`` wins over the engine's managed virtualenv."""
        from scenarios import engines

        if backend not in engines.ENGINES:
            raise InfrastructureError(f"unknown embedded backend {backend!r} ({', '.join(engines.NAMES)})")
        self._engine = backend
        self._backend = engines.ENGINES[backend].child_backend
        self._explicit_python = python
        self._own_dir = data_dir is None
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._port = port
        self._python = python or sys.executable  # resolved at start() for an engine with a managed virtualenv
        self._start_timeout = start_timeout
        self._log_path = log_path
        self._proc: Optional[subprocess.Popen] = None
        self._log: Optional[IO[bytes]] = None
        self.info: Optional[ServerInfo] = None

    @property
    def uri(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self.info is None:
            raise InfrastructureError("the embedded server is not running")
        return self.info.uri

    def start(self) -> ServerInfo:
        """Start the child, wait until its gRPC port answers a real call, and return what it reported."""
        if self._proc is not None:
            raise InfrastructureError("the embedded server is already running")
        from scenarios import engines

        self._python = engines.server_python(self._engine, self._explicit_python) or sys.executable
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="vdb-harness-milvus-"))
        self._data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_path or str(self._data_dir / "server.log")
        self._log = open(log_path, "ab")
        try:
            self._proc = subprocess.Popen(
                [self._python, str(CHILD_SCRIPT), str(self._data_dir / self._backend), LOOPBACK, str(self._port),
                 self._backend],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                start_new_session=True,  # Ctrl-C reaches only us; we stop the child in order
            )
        except OSError as exc:
            self._cleanup()
            raise InfrastructureError(f"cannot start the embedded server with {self._python}: {exc}") from None
        announcement = self._read_announcement(log_path)
        self.info = ServerInfo(uri=f"http://{LOOPBACK}:{announcement['port']}", port=int(announcement["port"]),
                               pid=self._proc.pid, backend_version=str(announcement.get("version", "unknown")),
                               engine=str(announcement.get("engine", "unknown")), data_dir=str(self._data_dir))
        self._wait_until_serving()
        return self.info

    def _read_announcement(self, log_path: str) -> dict:
        assert self._proc is not None and self._proc.stdout is not None
        result: dict = {}

        def read() -> None:
            line = self._proc.stdout.readline() if self._proc and self._proc.stdout else b""
            try:
                result.update(json.loads(line or b"{}"))
            except ValueError:
                result["error"] = f"unexpected output from the server child: {line[:200]!r}"

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(self._start_timeout)
        if "port" in result:
            return result
        why = result.get("error") or (f"it exited with code {self._proc.poll()}" if self._proc.poll() is not None
                                      else f"it did not report a port within {self._start_timeout:.0f} s")
        self.stop()
        hint = ""
        if "pkg_resources" in why:
            hint = " (milvus-lite 2.5.x needs setuptools<81 in its environment)"
        elif "No module named 'milvus_lite'" in why:
            hint = f" (install milvus-lite into {self._python}'s environment)"
        raise InfrastructureError(f"the embedded Milvus Lite server did not start: {why}{hint}; log: {log_path}")

    def _wait_until_serving(self) -> None:
        from pymilvus import MilvusClient  # imported late: the CLI's --help must not pay for it

        deadline = time.monotonic() + self._start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.alive():
                self.stop()
                raise InfrastructureError(f"the embedded server exited while starting; log: {self._log_name()}")
            try:
                client = MilvusClient(uri=self.uri, timeout=5)
                try:
                    client.list_collections(timeout=5)
                finally:
                    client.close()
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"; the last one is reported
                last = exc
                time.sleep(0.2)
        self.stop()
        raise InfrastructureError(f"the embedded server did not answer within {self._start_timeout:.0f} s: {last}")

    def _log_name(self) -> str:
        return getattr(self._log, "name", "?")

    def alive(self) -> bool:
        """True while the child process runs (a crash is seen here at once)."""
        return self._proc is not None and self._proc.poll() is None

    def gone_within(self, seconds: float) -> bool:
        """True once the child has exited (or never started), False if it still runs after ``seconds``."""
        if self._proc is None:
            return True
        try:
            self._proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def exit_code(self) -> Optional[int]:
        """The child's exit code once it has died or been stopped, else None."""
        return None if self._proc is None else self._proc.poll()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child (SIGTERM, then SIGKILL after ``timeout``) and remove a temp data dir. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    if proc.stdin:
                        proc.stdin.close()
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
                except (OSError, ValueError):
                    pass
            if proc.stdout:
                proc.stdout.close()
        self.info = None
        self._cleanup()

    def kill(self) -> None:
        """SIGKILL the whole server process group at once (for fault-injection tests); :meth:`stop` still cleans up."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(5)

    def restart(self) -> ServerInfo:
        """Stop and start again on the same data dir (the same port is not guaranteed unless one was set)."""
        own = self._own_dir
        self._own_dir = False  # keep the data across the restart
        try:
            self.stop()
        finally:
            self._own_dir = own
        return self.start()

    def _cleanup(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._own_dir and self._data_dir is not None and self._proc is None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None

    def __enter__(self) -> "EmbeddedMilvus":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
