"""A divergence as a small runnable Python script: the exact call (method and arguments, as literal pymilvus
source), the starting state and probes the harness used, both outcomes, and the harness's own verdict as the exit
code.

The script runs on the reproducer kit beside it (:mod:`conformance.repro_kit`): the harness's own set-up, call,
probe and comparison modules, which import only the standard library and pymilvus, so the reproducer directory
runs without this harness and decides exactly as the suite did. What the kit cannot build by itself (a starting
state outside the standard one, such as the typed collection) the script brings as literal pymilvus calls
(:mod:`conformance.setup_source`); argument objects are rendered by :mod:`conformance.pysource` and refused when
their source would not rebuild them exactly. Exit codes: 1 while the two clients diverge, 0 once they agree, 2
when the starting state cannot be built.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Optional

from conformance import typed
from conformance.example import Divergence, probe_calls
from conformance.probes import NEED_PROBES, SHARED_PROBES
from conformance.pysource import WIDTH, Emitter, import_lines
from conformance.registry import MethodSpec
from conformance.replay import AGREES, CANNOT_RUN, DIVERGES, POSITIONAL
from conformance.repro_kit import script_text, write_script
from conformance.setup_source import setup_function
from conformance.specs import load_all
from conformance.starting_state import STANDARD_NEEDS
from conformance.world import FEATURES


def _function(name: str, params: str, em: Emitter, value: Any) -> str:
    """``def name(params):`` returning ``value`` (after the statements that build its objects)."""
    result = em.expr(value, top=True)
    body = "".join(f"{line}\n" for line in em.statements)
    return f"def {name}({params}):\n{body}    return {result}\n"


def _about(div: Divergence) -> str:
    """The script's comment header: the divergence, both outcomes as recorded, how to run it."""
    sync, asyn = (json.dumps(o, default=str)[:1500] for o in (div.sync, div.asyn))
    why = "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(div.why.split()))
    return (f"Reproducer for a conformance divergence found by vdb-harness.\n\n"
            f"AsyncMilvusClient.{div.method} diverges from MilvusClient.{div.method}: {why}\n\n"
            f"sync outcome:  {sync}\nasync outcome: {asyn}\n\n"
            f"Run it against a server you own: python reproduce_{div.method}.py http://127.0.0.1:19530\n"
            "It runs on the kit in vdb_repro/ beside it (the harness's own set-up, call, probe and comparison code;\n"
            "p(name) is one side's name of an object of the starting state). Exit code "
            f"{DIVERGES} while the clients\ndiverge, {AGREES} once they agree, {CANNOT_RUN} when the starting state "
            "cannot be built.\n")


def _facts(div: Divergence, spec: Optional[MethodSpec]) -> dict[str, Any]:
    """The :class:`conformance.replay.Case` fields of the call that differ from their defaults."""
    needs = [n.value for n in div.needs]
    facts: dict[str, Any] = {"method": div.method, "needs": needs}
    if spec is not None:
        facts.update(mode=spec.compare.name, volatile=sorted(spec.volatile_keys), timeout=spec.timeout,
                     fresh=spec.fresh_clients, probe_needs=[n.value for n in spec.needs], category=spec.category)
    facts["features"] = {k: v for k, v in FEATURES.items() if not v}
    defaults = {"needs": [], "mode": "EXACT", "volatile": [], "timeout": True, "fresh": False, "probe_needs": needs,
                "category": "", "features": {}}
    return {k: v for k, v in facts.items() if k not in defaults or v != defaults[k]}


def render(div: Divergence, spec: Optional[MethodSpec] = None) -> str:
    """The reproducer script's text (``spec`` defaults to the registered spec of ``div.method``)."""
    spec = spec or load_all().get(div.method)
    if spec is not None and spec.mutates:  # as run_example: a mutating call builds and probes only what it touches
        spec = typed.narrowed(spec, div.kwargs)
    kwargs = dict(div.kwargs)
    positional = kwargs.pop(POSITIONAL, None)
    emitters: list[Emitter] = []
    parts: list[str] = []
    links: list[str] = []  # the functions main() gets by keyword, beside kwargs

    def function(name: str, params: str, value: Any) -> None:
        emitters.append(Emitter())
        parts.append(_function(name, params, emitters[-1], value))
        if name != "kwargs":
            links.append(f"{name}={name}")

    function("kwargs", "p", kwargs)
    if positional is not None:
        function("args", "p", list(positional))
    if not {n.value for n in div.needs} <= STANDARD_NEEDS:  # a starting state the kit does not build by itself
        emitters.append(Emitter())
        parts.append(setup_function(div.needs, emitters[-1]))
        links.append("setup=setup")
    if spec is None or not {n.value for n in spec.needs} <= set(NEED_PROBES):
        function("probes", "p", probe_calls(spec) if spec else [])
    elif spec.probe and list(spec.probe()):
        own = list(spec.probe())
        shared = [name for name, table in SHARED_PROBES.items() if repr(table) == repr(own)]
        if shared:
            links.append(f"own_probes={shared[0]!r}")
        else:
            function("own_probes", "p", own)
    call = ", ".join(links + [f"{k}={v!r}" for k, v in _facts(div, spec).items()])
    main = "\n".join(textwrap.wrap(f"main(kwargs, {call})", WIDTH, initial_indent="    ",
                                   subsequent_indent="         ", break_long_words=False, break_on_hyphens=False))
    imports = set().union(*(em.imports for em in emitters))
    head = "".join(f"{line}\n" for line in import_lines(imports))
    body = "\n\n" + "\n\n".join(parts) + f'\n\nif __name__ == "__main__":\n{main}\n'
    names = "TIMEOUT, main" if "setup=setup" in links else "main"  # TIMEOUT: the literal setup's calls use it
    return script_text(_about(div), f"replay import {names}", body, head + ("\n" if head else ""))


def write_reproducer(div: Divergence, conn: Any, out_dir: Path) -> Path:
    """Save ``reproducers/reproduce_<method>.py`` (with the kit beside it) under ``out_dir``; return its path."""
    return write_script(out_dir, f"reproduce_{div.method}.py", render(div))
