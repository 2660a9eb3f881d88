"""Targets: where traffic goes. ``embedded`` (a Milvus Lite server we own) or an ``http(s)://host:port`` URI.

:func:`open_target` yields a :class:`Connection` that knows how to build both clients; the token is read from the
environment variable the scenario (or ``--token-env``) names and never appears in ``repr``, logs or results.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Optional

from scenarios.embedded import EmbeddedMilvus, ServerInfo
from vdb_harness.kernel.errors import BadInputError, InfrastructureError, client_error_text
from scenarios.model import TargetSpec, with_flags


@dataclass(frozen=True)
class Connection:
    """How to reach a running server. ``token`` is excluded from ``repr`` so it cannot leak into logs."""

    uri: str
    db_name: str = "default"
    timeout: float = 30.0
    token: str = field(default="", repr=False)
    kind: str = "uri"
    embedded: Optional[ServerInfo] = None

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``MilvusClient(...)`` and ``AsyncMilvusClient(...)``."""
        kwargs: dict[str, Any] = {"uri": self.uri, "timeout": self.timeout}
        if self.token:
            kwargs["token"] = self.token
        if self.db_name and self.db_name != "default":
            kwargs["db_name"] = self.db_name
        return kwargs

    def sync_client(self) -> Any:
        """A new ``pymilvus.MilvusClient`` on this connection."""
        from pymilvus import MilvusClient

        return MilvusClient(**self.client_kwargs())

    def async_client(self) -> Any:
        """A new ``pymilvus.AsyncMilvusClient`` (create it inside the event loop that will use it)."""
        from pymilvus import AsyncMilvusClient

        return AsyncMilvusClient(**self.client_kwargs())

    def describe(self) -> dict[str, Any]:
        """What results record about the target: never the token."""
        out: dict[str, Any] = {"kind": self.kind, "uri": redact_uri(self.uri), "db_name": self.db_name}
        if self.embedded:
            from scenarios import engines

            name = engines.name_of(self.embedded.engine)
            out.update(backend=self.embedded.engine, backend_version=self.embedded.backend_version,
                       engine=self.embedded.engine, engine_name=name, engine_note=engines.describe(name),
                       server_version=f"{self.embedded.engine} {self.embedded.backend_version}")
        return out


def redact_uri(uri: str) -> str:
    """The URI without any user:password part."""
    parts = urllib.parse.urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urllib.parse.urlunsplit(parts)


def apply_overrides(spec: TargetSpec, *, target: str | None = None, token_env: str | None = None,
                    db_name: str | None = None, backend: str | None = None, backend_python: str | None = None,
                    data_dir: str | None = None, timeout: float | None = None) -> TargetSpec:
    """The scenario's target with command-line flags applied on top (the command line wins)."""
    values = dict(target=target, token_env=token_env, db_name=db_name, backend=backend, backend_python=backend_python,
                  data_dir=data_dir, timeout=timeout)
    return with_flags(spec, values, {"db_name": "--db"}, whole="--target")


def read_token(token_env: str | None) -> str:
    """The token from the named environment variable ('' when none is named); a named but unset one is an error."""
    if not token_env:
        return ""
    value = os.environ.get(token_env)
    if value is None:
        raise BadInputError(f"--token-env {token_env}: the environment variable {token_env} is not set")
    return value


def server_address(uri: str) -> tuple[str, int]:
    """The host and port a server URI points at (19530, or 443 for https, when it names none)."""
    parts = urllib.parse.urlsplit(uri)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 19530)


def port_answers(uri: str, timeout: float = 3.0) -> bool:
    """True when something accepts a TCP connection at ``uri``'s host:port (the one port probe of the harness)."""
    host, port = server_address(uri)
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail fast with a clear message when nothing listens at ``uri``'s host:port."""
    host, port = server_address(uri)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except socket.gaierror:
        raise InfrastructureError(f"{redact_uri(uri)}: cannot resolve host {host!r}") from None
    except OSError as exc:
        raise InfrastructureError(f"{redact_uri(uri)}: nothing answers at {host}:{port} "
                                  f"({exc.strerror or exc}); is the server running?") from None


def verify_connection(conn: Connection) -> None:
    """Make one real call so a wrong token, database or protocol fails here with one clear message."""
    try:
        client = conn.sync_client()
    except Exception as exc:  # noqa: BLE001 - pymilvus raises several types for a failed connect
        raise InfrastructureError(f"{redact_uri(conn.uri)}: cannot connect: {client_error_text(exc)}") from None
    try:
        client.list_collections(timeout=min(conn.timeout, 10.0))
    except Exception as exc:  # noqa: BLE001
        raise InfrastructureError(f"{redact_uri(conn.uri)} (database {conn.db_name!r}): "
                                  f"the server refused a call: {client_error_text(exc)}") from None
    finally:
        client.close()


@contextmanager
def open_target(spec: TargetSpec) -> Iterator[Connection]:
    """Yield a verified :class:`Connection`; an embedded server is started before and stopped after."""
    token = read_token(spec.token_env)
    if spec.target == "embedded":
        if token:
            raise BadInputError("--token-env: the embedded server takes no token")
        server = EmbeddedMilvus(data_dir=spec.data_dir, python=spec.backend_python, backend=spec.backend,
                                start_timeout=240.0 if spec.backend == "standalone" else 90.0)
        info = server.start()
        try:
            conn = Connection(uri=info.uri, db_name="default", timeout=spec.timeout, kind="embedded", embedded=info)
            if spec.db_name != "default":
                conn = _ensure_database(conn, spec.db_name)
            yield conn
        finally:
            server.stop()
        return
    check_reachable(spec.target, timeout=min(spec.timeout, 10.0))
    conn = Connection(uri=spec.target, db_name=spec.db_name, timeout=spec.timeout, token=token, kind="uri")
    verify_connection(conn)
    yield conn


def _ensure_database(conn: Connection, db_name: str) -> Connection:
    """On our own embedded server, create ``db_name`` if needed and return a connection that uses it."""
    client = conn.sync_client()
    try:
        if db_name not in client.list_databases(timeout=10):
            client.create_database(db_name, timeout=10)
    except Exception as exc:  # noqa: BLE001
        raise InfrastructureError(f"embedded server: cannot use database {db_name!r}: {client_error_text(exc)}") from None
    finally:
        client.close()
    return replace(conn, db_name=db_name)
