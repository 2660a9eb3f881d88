"""A shrunk divergence as a minimal runnable Python script: both clients, the exact calls, both outputs.

The script stands alone: it imports only the standard library, pymilvus and (when the arguments hold such
values) numpy / scipy. The starting state, the argument objects and the cleanup are written out as literal
pymilvus calls (see :mod:`conformance.setup_source` and :mod:`conformance.pysource`).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Optional

from conformance.example import Divergence, probe_calls
from conformance.pysource import Emitter, Import, import_lines
from conformance.registry import MethodSpec
from conformance.specs import load_all
from conformance.setup_source import CLEANUP, setup_function
from vdb_harness.kernel.results import atomic_write_text

STDLIB = ("asyncio", "inspect", "itertools", "logging", "sys", "uuid")
POSITIONAL = "__positional__"


def _docstring_text(text: str) -> str:
    """``text`` as literal docstring content (backslashes, triple quotes and control characters escaped)."""
    text = text.replace("\\", "\\\\").replace('"""', "'''")
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1].replace("\\", "\\\\") for c in text)


def _function(name: str, doc: str, em: Emitter, value: Any) -> str:
    """``def name(p):`` returning ``value`` (after the statements that build its objects)."""
    result = em.expr(value, top=True)
    body = "".join(f"{line}\n" for line in em.statements)
    return f'def {name}(p):\n    """{doc}"""\n{body}    return {result}\n'


def _takes_timeout(client_class: Any, method: str) -> bool:
    try:
        params = inspect.signature(getattr(client_class, method)).parameters
    except (AttributeError, TypeError, ValueError):
        return False
    return "timeout" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _call_args(spec: Optional[MethodSpec], method: str, kwargs: dict[str, Any], client_class: Any,
               positional: bool) -> str:
    """The argument list of the call as the harness made it (with ``timeout=`` where it passed one)."""
    parts = (["*args(p)"] if positional else []) + ["**kwargs(p)"]
    if (spec is None or spec.timeout) and "timeout" not in kwargs and _takes_timeout(client_class, method):
        parts.append("timeout=TIMEOUT")
    return ", ".join(parts)


PROBES = '''def show_probes(side, client, p):
    """Print what each probe returns on one side."""
    for method, arguments in probes(p):
        try:
            print(f"{side} after {method}:", repr(getattr(client, method)(**arguments, timeout=TIMEOUT))[:1000])
        except Exception as exc:
            print(f"{side} after {method} raised:", type(exc).__name__, exc)
'''

CALLS = '''def call_sync(sync, p):
    """The call through MilvusClient."""
    result = sync.{method}({sync_args})
    if inspect.isgenerator(result):  # a stream: its first 100 items
        result = list(itertools.islice(result, 100))
    return result


async def call_async(p):
    """The same call through a new AsyncMilvusClient."""
    client = AsyncMilvusClient(uri=URI, timeout=TIMEOUT)
    try:
        result = client.{method}({async_args})
        if inspect.isawaitable(result):
            result = await result
        if inspect.isasyncgen(result):  # a stream: its first 100 items
            items = []
            async for item in result:
                items.append(item)
                if len(items) == 100:
                    break
            result = items
        return result
    finally:
        try:
            await client.close()
        except Exception:  # already closed (when the call under test is close itself)
            pass


def outcome(side, action):
    """Print what action() returns, or what it raises."""
    try:
        print(f"{{side}} outcome:", repr(action())[:2000])
    except Exception as exc:
        print(f"{{side}} raised:", type(exc).__name__, exc)
'''

MAIN = '''def main():
    """Build the starting state once per side, make the call through each client, print both outcomes."""
    p_sync, p_async = namer(f"r{{uuid.uuid4().hex[:6]}}s_"), namer(f"r{{uuid.uuid4().hex[:6]}}a_")
    admin = MilvusClient(uri=URI, timeout=TIMEOUT)  # builds{probed}, cleans up
    sync = {sync_client}
    try:
        setup(admin, p_sync)
        setup(admin, p_async)
        outcome("sync", lambda: call_sync(sync, p_sync))
{probe_sync}        outcome("async", lambda: asyncio.run(call_async(p_async)))
{probe_async}    finally:
        cleanup(admin, [p_sync(""), p_async("")])
{close_sync}        admin.close()


if __name__ == "__main__":
    main()
'''


CLOSE_SYNC = "        try:\n            sync.close()\n        except Exception:\n            pass\n"


def _header(div: Divergence, imports: set[Import]) -> str:
    extra = [m for m in ("numpy", "scipy") if any(i[0].split(".")[0] == m for i in imports)]
    lines = import_lines(imports | {("pymilvus", "AsyncMilvusClient", None), ("pymilvus", "MilvusClient", None)})
    third = "".join(f"{line}\n" for line in lines)
    sync, asyn = (_docstring_text(json.dumps(o, default=str)[:1500]) for o in (div.sync, div.asyn))
    return (f'"""Reproducer for a conformance divergence found by vdb-harness.\n\n'
            f"AsyncMilvusClient.{div.method} diverges from MilvusClient.{div.method}: {_docstring_text(div.why)}\n\n"
            f"sync outcome:  {sync}\nasync outcome: {asyn}\n\n"
            f"Needs only {', '.join(['pymilvus'] + extra)}. Run against a server you own:\n"
            f'    python reproduce_{div.method}.py http://127.0.0.1:19530\n"""\n'
            + "".join(f"import {m}\n" for m in STDLIB) + f"\n{third}\n"
            'URI = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:19530"\nTIMEOUT = 30\n\n\n'
            "def namer(prefix):\n"
            '    """p(name): one side\'s name of a setup object (each side has its own prefix)."""\n'
            "    return lambda name: prefix + name\n")


def render(div: Divergence, spec: Optional[MethodSpec] = None) -> str:
    """The reproducer script's text (``spec`` defaults to the registered spec of ``div.method``)."""
    from pymilvus import AsyncMilvusClient, MilvusClient

    spec = spec or load_all().get(div.method)
    kwargs = dict(div.kwargs)
    positional = kwargs.pop(POSITIONAL, None)
    emitters = [Emitter() for _ in range(4)]
    parts = [setup_function(div.needs, emitters[0])]
    if positional is not None:
        parts.append(_function("args", "The exact positional arguments; p(name) is this side's name of a setup "
                                       "object.", emitters[1], list(positional)))
    parts.append(_function("kwargs", "The exact keyword arguments; p(name) is this side's name of a setup object.",
                           emitters[2], kwargs))
    probes = probe_calls(spec) if spec is not None and spec.mutates else []
    if probes:
        parts.append(_function("probes", "What the harness looked at after the call, on the same side: "
                                         "(method, arguments).", emitters[3], probes))
        parts.append(PROBES)
    parts.append(CALLS.format(method=div.method,
                              sync_args=_call_args(spec, div.method, kwargs, MilvusClient, positional is not None),
                              async_args=_call_args(spec, div.method, kwargs, AsyncMilvusClient,
                                                    positional is not None)))
    parts.append(CLEANUP)
    fresh = spec is not None and spec.fresh_clients
    parts.append(MAIN.format(
        probed=", probes" if probes else "",
        sync_client="MilvusClient(uri=URI, timeout=TIMEOUT)  # a client of its own, as the harness used"
        if fresh else "admin",
        probe_sync='        show_probes("sync", admin, p_sync)\n' if probes else "",
        probe_async='        show_probes("async", admin, p_async)\n' if probes else "",
        close_sync=CLOSE_SYNC if fresh else ""))
    return _header(div, set().union(*(em.imports for em in emitters))) + "\n\n" + "\n\n".join(parts)


def write_reproducer(div: Divergence, conn: Any, out_dir: Path) -> Path:
    """Save ``reproducers/reproduce_<method>.py`` under ``out_dir`` and return its path."""
    path = Path(out_dir) / "reproducers" / f"reproduce_{div.method}.py"
    atomic_write_text(path, render(div))
    return path
