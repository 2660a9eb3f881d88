"""The harness' own error types (each maps onto an exit code of the command line) and how client errors are
named: one status code, one counting code and one line of text for any pymilvus / gRPC error."""

from __future__ import annotations

import os
from typing import Any


class HarnessError(Exception):
    """Base of every error the command line reports as one clear message. ``exit_code`` is what the CLI returns."""

    exit_code = 2


class BadInputError(HarnessError):
    """A file or flag the user gave is wrong (bad scenario, unknown result version, corrupt dataset)."""

    exit_code = 2


class ScenarioError(BadInputError):
    """A scenario file that cannot be read or does not validate; the message names the file and field path."""


class InfrastructureError(HarnessError):
    """The server or the machine failed us: unreachable URI, wrong token, embedded server that would not start."""

    exit_code = 2


def status_code(exc: BaseException) -> Any:
    """The code a client error carries: the gRPC status name of a ``grpc.RpcError`` (``"UNAVAILABLE"``), the
    server's code of a ``MilvusException`` (an int), a harness error's own string code; None when it has none."""
    code = getattr(exc, "code", None)
    if callable(code):  # grpc.RpcError
        try:
            return code().name
        except Exception:  # noqa: BLE001 - some RpcError objects cannot report a code
            return None
    return code if isinstance(code, (int, str)) and not isinstance(code, bool) else None


def error_code(exc: BaseException) -> str:
    """A short, stable code for counting errors: ``grpc:<status>``, ``milvus:<code>``, a harness error's own
    code, or the exception type."""
    code = status_code(exc)
    if callable(getattr(exc, "code", None)):
        return f"grpc:{code}" if code is not None else type(exc).__name__
    if isinstance(code, int):
        return f"milvus:{code}"
    return code if isinstance(code, str) else type(exc).__name__


def client_error_text(exc: BaseException) -> str:
    """One short line for any client error: the gRPC status name, or the server's first message line."""
    if callable(getattr(exc, "code", None)):  # grpc.RpcError
        status = status_code(exc)
        if status is not None:
            return f"gRPC {status}"
    text = str(getattr(exc, "message", "") or exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def is_server_rejection(exc: BaseException) -> bool:
    """True for an error the server answered with a status code (a refusal), not a transport or client failure
    (such as gRPC UNIMPLEMENTED for an RPC a client calls after the real work was done)."""
    return isinstance(getattr(exc, "code", None), int) and type(exc).__name__ == "MilvusException"


def read_input_text(path: "os.PathLike[str] | str", what: str) -> str:
    """The UTF-8 text of a file the user named; a missing or unreadable file is a :class:`BadInputError` that
    names the file and what it should have been (``what``: "result", "policy", ...)."""
    from pathlib import Path

    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(f"{p}: no such {what} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{p}: cannot read the {what} file: {exc}") from None
