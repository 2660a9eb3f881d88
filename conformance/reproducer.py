"""A shrunk divergence as a minimal runnable Python script: both clients, the exact calls, both outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conformance.example import Divergence
from conformance.world import Lazy, Named, Ref
from scenarios.results import atomic_write_text

HEADER = '''"""Reproducer for a conformance divergence found by vdb-harness.

AsyncMilvusClient.{method} diverges from MilvusClient.{method}: {why}

sync outcome:  {sync}
async outcome: {asyn}

Run against a server you own:  python {filename} http://127.0.0.1:19530
"""
import asyncio
import sys
import uuid

from pymilvus import AnnSearchRequest, AsyncMilvusClient, DataType, Function, FunctionType, MilvusClient, RRFRanker, WeightedRanker

from conformance.specs.indexes import _index as index_params  # noqa: F401
from conformance.schemas import build_index, build_schema  # noqa: F401
from conformance.specs.collections import _function_field_args, _struct_schema  # noqa: F401
from conformance.world import Namespace, build, cleanup

URI = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:19530"
NEEDS = {needs}


def kwargs(p):
    """The exact call arguments; p(name) is this side's name of a setup object."""
    return {kwargs}


def main():
    sync = MilvusClient(uri=URI, timeout=30)
    ns_s, ns_a = Namespace(f"r{{uuid.uuid4().hex[:6]}}s_"), Namespace(f"r{{uuid.uuid4().hex[:6]}}a_")
    try:
        for ns in (ns_s, ns_a):
            build(sync, ns, NEEDS, 30)
        try:
            print("sync :", repr(sync.{method}(**kwargs(ns_s.name)))[:2000])
        except Exception as exc:
            print("sync raised :", type(exc).__name__, exc)

        async def run_async():
            client = AsyncMilvusClient(uri=URI, timeout=30)
            try:
                result = client.{method}(**kwargs(ns_a.name))
                if asyncio.iscoroutine(result):
                    result = await result
                print("async:", repr(result)[:2000])
            except Exception as exc:
                print("async raised:", type(exc).__name__, exc)
            finally:
                await client.close()

        asyncio.run(run_async())
    finally:
        cleanup(sync, [ns_s.prefix, ns_a.prefix], 30)
        sync.close()


if __name__ == "__main__":
    main()
'''


def source(value: Any) -> str:
    """Python source for an argument value (Refs become ``p('name')``, Lazy values their builder call)."""
    if isinstance(value, Ref):
        return f"p({value.name!r})"
    if isinstance(value, Named):
        return f"{value.template!r}.format(p=p(''))"
    if isinstance(value, Lazy):
        return re.sub(r"Ref\('(\w+)'\)", r"p('\1')", value.source)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(source(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + "".join(f"{source(v)}, " for v in value) + ")"
    return repr(value)


def render(div: Divergence) -> str:
    """The reproducer script's text."""
    needs = "{" + ", ".join(f"Need.{n.name}" for n in div.needs) + "}" if div.needs else "set()"
    text = HEADER.format(method=div.method, why=div.why.replace('"""', "'''"),
                         sync=json.dumps(div.sync, default=str)[:1500].replace('"""', "'''"),
                         asyn=json.dumps(div.asyn, default=str)[:1500].replace('"""', "'''"),
                         filename=f"reproduce_{div.method}.py", needs=needs, kwargs=source(div.kwargs))
    if div.needs:
        text = text.replace("from conformance.world import Namespace",
                            "from conformance.registry import Need\nfrom conformance.world import Namespace")
    return text


def write_reproducer(div: Divergence, conn: Any, out_dir: Path) -> Path:
    """Save ``reproducers/reproduce_<method>.py`` under ``out_dir`` and return its path."""
    path = Path(out_dir) / "reproducers" / f"reproduce_{div.method}.py"
    atomic_write_text(path, render(div))
    return path
