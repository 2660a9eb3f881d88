"""A divergence as a minimal runnable Python script: both clients, the exact calls, what the harness probed after
them, both outcomes, and the harness's own verdict as the exit code.

The script stands alone: it imports only the standard library, pymilvus (with grpc and protobuf, which pymilvus
brings) and (when the arguments hold such values) numpy / scipy. The starting state, the argument objects, the
probes and the cleanup are written out as literal pymilvus calls (see :mod:`conformance.setup_source` and
:mod:`conformance.pysource`); the comparison is the harness's own (:mod:`conformance.normalize` and
:mod:`conformance.compare`, copied into the script by :func:`judge_source`). Exit codes: 1 when the two clients
still diverge, 0 when they agree, 2 when the script could not build its starting state.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any, Optional

from conformance import compare, normalize, typed
from conformance.example import CLIENT_PROBES, Divergence, probe_calls
from conformance.pysource import Emitter, Import, import_lines
from conformance.registry import Compare, MethodSpec
from conformance.specs import load_all
from conformance.setup_source import CLEANUP, setup_function
from conformance.world import PREFIX_RE
from vdb_harness.kernel.results import atomic_write_text

STDLIB = ("asyncio", "inspect", "itertools", "logging", "sys", "uuid")
POSITIONAL = "__positional__"
#: Exit codes of a reproducer script.
DIVERGES, AGREES, CANNOT_RUN = 1, 0, 2


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


def _positional_timeout(client_class: Any, method: str, count: int) -> bool:
    """The first ``count`` positional arguments of ``client_class.method`` include its ``timeout``."""
    try:
        params = list(inspect.signature(getattr(client_class, method)).parameters.values())
    except (AttributeError, TypeError, ValueError):
        return False
    names = [p.name for p in params if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return "timeout" in names[:count]


def _call_args(spec: Optional[MethodSpec], method: str, kwargs: dict[str, Any], client_class: Any,
               positional: bool, count: int = 0) -> str:
    """The argument list of the call as the harness made it (with ``timeout=`` where it passed one, by keyword
    or among its ``count`` positional arguments)."""
    parts = (["*args(p)"] if positional else []) + ["**kwargs(p)"]
    if (spec is None or spec.timeout) and "timeout" not in kwargs and _takes_timeout(client_class, method) \
            and not _positional_timeout(client_class, method, count):
        parts.append("timeout=TIMEOUT")
    return ", ".join(parts)


def _module_body(module: Any) -> str:
    """The source of ``module`` without its docstring and its ``__future__`` / ``conformance`` imports."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    drop: set[int] = set()
    for i, node in enumerate(ast.parse(source).body):
        docstring = i == 0 and isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant)
        ours = isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("__future__", "conformance")
        if docstring or ours:
            drop.update(range(node.lineno - 1, node.end_lineno or node.lineno))
    return "\n".join(line for i, line in enumerate(lines) if i not in drop).strip() + "\n"


def judge_source() -> str:
    """How the harness normalises and compares two outcomes, as standalone source: :mod:`conformance.normalize`
    and :mod:`conformance.compare` copied whole, with the two names they import from the harness written out."""
    members = "".join(f"    {m.name} = {m.value!r}\n" for m in Compare)
    return ("# ---- How vdb-harness judges the two outcomes: its conformance/normalize.py and conformance/compare.py,\n"
            "# ---- copied unchanged, so this script decides exactly as the suite did.\n\n"
            f"PREFIX_RE = {PREFIX_RE!r}\n\n\n"
            "class Compare(str, Enum):\n    \"\"\"How two normalised results are compared.\"\"\"\n\n" + members + "\n\n"
            + _module_body(normalize) + "\n\n" + _module_body(compare))


SIDES = '''def own_client(cls):
    """A new client with a connection of its own (as the harness makes them), so closing it leaves the others
    connected: pymilvus 3 pools connections unless dedicated=True; older releases share one per alias."""
    try:
        import pymilvus.client.connection_manager  # noqa: F401 - present from pymilvus 3.0 on
        isolation = {"dedicated": True}
    except ImportError:
        isolation = {"alias": f"repro-{uuid.uuid4().hex[:8]}"}
    return cls(uri=URI, timeout=TIMEOUT, **isolation)


def seen(value, prefix):
    """A returned value as the harness compares it: plain data, other sides' names left out, names masked."""
    return mask(only_own(plain(value), (prefix,)), (prefix,), VOLATILE)


def server_probes(admin, p, prefix):
    """What the server shows after the call, through the admin client (the harness's probes, in its order)."""
    effects = {}
    for i, (name, arguments) in enumerate(probes(p)):
        try:
            effects[f"{i}:{name}"] = seen(getattr(admin, name)(**arguments, timeout=TIMEOUT), prefix)
        except Exception as exc:
            effects[f"{i}:{name}"] = {"error": error_record(exc, (prefix,))}
    return effects


def sync_side(admin, p):
    """The call through MilvusClient, then the probes: server state through admin, the client's own through it."""
    prefix = p("")
    sync = @SYNC_CLIENT@
    try:
        try:
            result = sync.@METHOD@(@SYNC_ARGS@)
            if inspect.isgenerator(result):  # a stream: its first 100 items
                result = list(itertools.islice(result, 100))
            ok, value, error = True, seen(result, prefix), None
        except Exception as exc:
            ok, value, error = False, None, error_record(exc, (prefix,))
        effects = server_probes(admin, p, prefix)
        for name, arguments in client_probes(p):
            try:
                effects[f"client:{name}"] = seen(getattr(sync, name)(**arguments, timeout=TIMEOUT), prefix)
            except Exception as exc:
                effects[f"client:{name}"] = {"error": error_record(exc, (prefix,))}
        return Outcome(ok, value, error, effects)
    finally:
@CLOSE_SYNC@

async def async_side(admin, p):
    """The same call through a new AsyncMilvusClient, then the same probes (the client's own through it)."""
    prefix = p("")
    client = own_client(AsyncMilvusClient)
    try:
        try:
            result = client.@METHOD@(@ASYNC_ARGS@)
            if inspect.isawaitable(result):
                result = await result
            if inspect.isasyncgen(result):  # a stream: its first 100 items
                items = []
                async for item in result:
                    items.append(item)
                    if len(items) == 100:
                        break
                result = items
            ok, value, error = True, seen(result, prefix), None
        except Exception as exc:
            ok, value, error = False, None, error_record(exc, (prefix,))
        effects = server_probes(admin, p, prefix)
        for name, arguments in client_probes(p):
            try:
                answer = getattr(client, name)(**arguments, timeout=TIMEOUT)
                effects[f"client:{name}"] = seen(await answer if inspect.isawaitable(answer) else answer, prefix)
            except Exception as exc:
                effects[f"client:{name}"] = {"error": error_record(exc, (prefix,))}
        return Outcome(ok, value, error, effects)
    finally:
        try:
            await client.close()
        except Exception:  # already closed (when the call under test is close itself)
            pass
'''

MAIN = '''def show(side, outcome):
    """Print one side's outcome and what the probes saw."""
    print(f"{{side}} returned:" if outcome.ok else f"{{side}} raised:",
          repr(outcome.value if outcome.ok else outcome.error)[:2000])
    for key, value in outcome.effects.items():
        print(f"  {{side}} after the call, {{key}}:", repr(value)[:600])


def main():
    """Build the starting state once per side, call through each client, probe, compare; exit 1 on a divergence."""
    stem = f"cf{{uuid.uuid4().hex[:6]}}x1"
    p_sync, p_async = namer(stem + "s_"), namer(stem + "a_")
    admin = own_client(MilvusClient)  # builds, probes, cleans up
    try:
        try:
            setup(admin, p_sync)
            setup(admin, p_async)
        except Exception as exc:
            print("the starting state could not be built:", type(exc).__name__, exc)
            return {cannot_run}
        sync = sync_side(admin, p_sync)
        show("sync", sync)
        asyn = asyncio.run(async_side(admin, p_async))
        show("async", asyn)
    finally:
        cleanup(admin, [p_sync(""), p_async("")])
        try:
            admin.close()
        except Exception:
            pass
    why = difference(MODE, sync, asyn)
    print("pymilvus", pymilvus.__version__ + ":", f"the clients DIVERGE: {{why}}" if why else "the clients agree")
    return {diverges} if why else {agrees}


if __name__ == "__main__":
    sys.exit(main())
'''

CLOSE_SYNC = "        try:\n            sync.close()\n        except Exception:\n            pass\n"


def _header(div: Divergence, imports: set[Import], spec: Optional[MethodSpec]) -> str:
    extra = [m for m in ("numpy", "scipy") if any(i[0].split(".")[0] == m for i in imports)]
    lines = import_lines(imports | {("pymilvus", "AsyncMilvusClient", None), ("pymilvus", "MilvusClient", None)})
    third = "".join(f"{line}\n" for line in lines)
    sync, asyn = (_docstring_text(json.dumps(o, default=str)[:1500]) for o in (div.sync, div.asyn))
    mode = (spec.compare if spec is not None else Compare.EXACT).name
    volatile = sorted(spec.volatile_keys) if spec is not None else []
    return (f'"""Reproducer for a conformance divergence found by vdb-harness.\n\n'
            f"AsyncMilvusClient.{div.method} diverges from MilvusClient.{div.method}: {_docstring_text(div.why)}\n\n"
            f"sync outcome:  {sync}\nasync outcome: {asyn}\n\n"
            "Each side builds the same starting state, makes the call, then the harness's probes look at the server\n"
            "and at the calling client's own state; the outcomes are compared as the suite compares them.\n"
            f"Exit code: {DIVERGES} while the clients still diverge, {AGREES} when they agree, {CANNOT_RUN} when the "
            "starting state cannot be built.\n"
            f"Needs only {', '.join(['pymilvus'] + extra)}. Run against a server you own:\n"
            f'    python reproduce_{div.method}.py http://127.0.0.1:19530\n"""\n'
            + "".join(f"import {m}\n" for m in STDLIB) + "import math\nimport re\nfrom dataclasses import dataclass\n"
            "from enum import Enum\nfrom typing import Any, Callable, Iterable, Optional\n\nimport pymilvus\n"
            f"{third}\n"
            'URI = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:19530"\nTIMEOUT = 30\n'
            f"#: How the harness compares this method's results, and the result keys it masks as server-generated.\n"
            f"MODE = {mode!r}\nVOLATILE = frozenset({volatile!r})\n\n\n"
            "def namer(prefix):\n"
            '    """p(name): one side\'s name of a setup object (each side has its own prefix)."""\n'
            "    return lambda name: prefix + name\n")


def render(div: Divergence, spec: Optional[MethodSpec] = None) -> str:
    """The reproducer script's text (``spec`` defaults to the registered spec of ``div.method``)."""
    from pymilvus import AsyncMilvusClient, MilvusClient

    spec = spec or load_all().get(div.method)
    if spec is not None and spec.mutates:  # as run_example: a mutating call builds and probes only what it touches
        spec = typed.narrowed(spec, div.kwargs)
    kwargs = dict(div.kwargs)
    positional = kwargs.pop(POSITIONAL, None)
    emitters = [Emitter() for _ in range(5)]
    parts = [setup_function(div.needs, emitters[0])]
    if positional is not None:
        parts.append(_function("args", "The exact positional arguments; p(name) is this side's name of a setup "
                                       "object.", emitters[1], list(positional)))
    parts.append(_function("kwargs", "The exact keyword arguments; p(name) is this side's name of a setup object.",
                           emitters[2], kwargs))
    probes = probe_calls(spec) if spec is not None else []
    parts.append(_function("probes", "What the harness looks at on the server after the call, on the same side: "
                                     "(method, arguments).", emitters[3], probes))
    parts.append(_function("client_probes", "What the harness asks the calling client itself after the call "
                                            "(where its next call lands): (method, arguments).",
                           emitters[4], CLIENT_PROBES))
    fresh = spec is not None and spec.fresh_clients
    fill = {"@METHOD@": div.method,
            "@SYNC_CLIENT@": "own_client(MilvusClient)  # a client of its own, as the harness used" if fresh else "admin",
            "@SYNC_ARGS@": _call_args(spec, div.method, kwargs, MilvusClient, positional is not None,
                                      len(positional or ())),
            "@ASYNC_ARGS@": _call_args(spec, div.method, kwargs, AsyncMilvusClient, positional is not None,
                                       len(positional or ())),
            "@CLOSE_SYNC@\n": CLOSE_SYNC if fresh else "        pass\n"}
    sides = SIDES
    for key, text in fill.items():
        sides = sides.replace(key, text)
    parts.append(sides)
    parts.append(CLEANUP)
    parts.append(judge_source())
    parts.append("MODE = Compare[MODE]\n")
    parts.append(MAIN.format(diverges=DIVERGES, agrees=AGREES, cannot_run=CANNOT_RUN))
    return _header(div, set().union(*(em.imports for em in emitters)), spec) + "\n\n" + "\n\n".join(parts)


def write_reproducer(div: Divergence, conn: Any, out_dir: Path) -> Path:
    """Save ``reproducers/reproduce_<method>.py`` under ``out_dir`` and return its path."""
    path = Path(out_dir) / "reproducers" / f"reproduce_{div.method}.py"
    atomic_write_text(path, render(div))
    return path
