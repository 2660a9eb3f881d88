"""The embedded engines ``--backend`` selects, what their numbers mean, and what each cannot serve.

- ``lite``: Milvus Lite 3, the milvus-lite installed with the harness (the default). A pure-Python engine: a few
  queries per second; its figures describe that engine, not a Milvus server, and hide the harness' own cost.
- ``lite25``: Milvus Lite 2.5.1, the C++ engine (about 1000 QPS on a 2-core box), served from a managed virtualenv
  (``milvus-lite==2.5.1`` with ``setuptools<81``, created on first use; :mod:`scenarios.venvs`).
- ``standalone``: the PyPI ``milvus`` package's embedded Milvus standalone (2.3.x), also from a managed virtualenv.

An explicit ``--backend-python`` (or ``VDB_HARNESS_BACKEND_PYTHON``) wins over the managed virtualenv.
:func:`refuse_lacking` turns a scenario feature the engine lacks into a clear error (exit 2) before a run starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from vdb_harness.kernel.errors import BadInputError

NAMES = ("lite", "lite25", "standalone")


@dataclass(frozen=True)
class Engine:
    """One embedded engine: the server kind its child serves, the requirements of its managed virtualenv (none: it
    is served by the harness' own interpreter) and what its numbers mean."""

    name: str
    title: str
    child_backend: str
    requirements: tuple[str, ...]
    #: Extra pins when the harness itself shares the engine's environment (the release sweep's venvs).
    harness_requirements: tuple[str, ...]
    numbers: str
    #: Scenario features the engine lacks: (what, check(scenario, dataset) -> offending detail or None).
    lacks: tuple[tuple[str, Callable[[Any, Any], Optional[str]]], ...] = ()


#: A template placeholder in a filter expression (``id in {ids}``), filled by ``filter_params``.
TEMPLATE = re.compile(r"\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}")


def _template_filters(scenario: Any, dataset: Any = None) -> Optional[str]:
    """Tasks whose filter is a template expression (``{name}`` placeholders or ``filter_params``): Milvus Lite 2.5.1
    does not parse templates (every such request fails with 'Unexpected error in RPC handling', and ``like {w}``
    kills the server; checked on the real engine by tests/test_engines.py)."""
    found = []
    for task in getattr(getattr(scenario, "workload", None), "tasks", None) or []:
        text = getattr(task, "filter", None) or ""
        if TEMPLATE.search(text) or getattr(task, "filter_params", None):
            found.append(f"task {task.label!r} filter {text!r}")
    return "; ".join(found) or None


def _nulls_in_non_nullable(scenario: Any, dataset: Any = None) -> Optional[str]:
    """Dataset columns holding None for a field the schema does not declare nullable: Milvus Lite 2.5.1 dies on
    the insert (both clients send it). Needs the built dataset; without one nothing is found."""
    if dataset is None:
        return None
    found = []
    for f in scenario.collection.fields:
        if f.nullable or f.primary:
            continue
        column = {**getattr(dataset, "scalars", {}), **getattr(dataset, "vectors", {})}.get(f.name)
        if column is None or getattr(column, "dtype", None) is None or column.dtype != object:
            continue
        nulls = sum(1 for v in column if v is None)
        if nulls:
            found.append(f"field {f.name!r} is not nullable but {nulls} of {len(column)} rows give None")
    return "; ".join(found) or None


ENGINES: dict[str, Engine] = {
    "lite": Engine("lite", "Milvus Lite 3 (pure-Python engine)", "lite", (), (),
                   "Milvus Lite 3 is a pure-Python engine (a few QPS, p99 in the hundreds of ms): its numbers "
                   "describe that engine, not a Milvus server, and cannot show the harness' own cost"),
    "lite25": Engine("lite25", "Milvus Lite 2.5.1 (C++ engine)", "lite", ("milvus-lite==2.5.1", "setuptools<81"),
                     ("milvus-lite==2.5.1", "setuptools<81", "hdrhistogram>=0.10.3,<0.10.8"),
                     "Milvus Lite 2.5.1 is the C++ engine (about 1000 QPS on 2 cores): its numbers are a "
                     "single-process embedded Milvus, useful for the harness' own cost, not a cluster's capacity",
                     (("template filters", _template_filters),
                      ("None in a non-nullable field", _nulls_in_non_nullable))),
    "standalone": Engine("standalone", "Milvus standalone (PyPI 'milvus' package)", "standalone",
                         ("milvus", "setuptools<81"), ("milvus", "setuptools<81", "hdrhistogram>=0.10.3,<0.10.8"),
                         "the PyPI 'milvus' package's embedded Milvus standalone (2.3.x): a real server, older "
                         "than today's releases"),
}


def engine(name: str) -> Engine:
    """The engine called ``name``; an unknown one is bad input."""
    try:
        return ENGINES[name]
    except KeyError:
        raise BadInputError(f"--backend {name!r}: unknown engine; one of {', '.join(NAMES)}") from None


def server_python(name: str, explicit: Optional[str] = None, progress: Optional[Callable[[str], None]] = None
                  ) -> Optional[str]:
    """The interpreter that serves engine ``name``: ``explicit`` if given, None for the harness' own, else the
    engine's managed virtualenv (created now on first use; :class:`scenarios.venvs.VenvError` if it cannot be)."""
    eng = engine(name)
    if explicit or not eng.requirements:
        return explicit
    from scenarios import venvs

    return str(venvs.ensure_venv(list(eng.requirements), label=eng.title, progress=progress))


def lacking(name: str, scenario: Any, dataset: Any = None) -> list[str]:
    """The features of ``scenario`` (and of its built ``dataset``, when given) engine ``name`` cannot serve."""
    out = []
    for what, check in engine(name).lacks:
        detail = check(scenario, dataset)
        if detail:
            out.append(f"{what}: {detail}")
    return out


def refuse_lacking(scenario: Any, target: Any, dataset: Any = None) -> None:
    """Raise :class:`BadInputError` (exit 2) naming each feature of ``scenario`` (and ``dataset``) the embedded
    engine of ``target`` (a TargetSpec, or an engine name) lacks; a URI target is not checked (its server is
    whatever it is)."""
    name = target if isinstance(target, str) else (getattr(target, "backend", "lite")
                                                   if getattr(target, "target", "embedded") == "embedded" else None)
    if name is None:
        return
    missing = lacking(name, scenario, dataset)
    if missing:
        raise BadInputError(f"--backend {name} ({engine(name).title}) cannot serve scenario "
                            f"{getattr(scenario, 'name', '?')!r}: " + "; ".join(missing)
                            + " (use --backend lite, or change the scenario)")


def describe(name: str) -> str:
    """One sentence: which engine serves and what its numbers mean."""
    eng = engine(name)
    return f"{eng.title}: {eng.numbers}"


#: The engine string a server child announces -> the engine name.
_ANNOUNCED = {"milvus-lite-python": "lite", "milvus-lite-cpp": "lite25", "milvus-standalone": "standalone"}


def name_of(announced_engine: str) -> str:
    """The engine name (lite, lite25, standalone) of what a server child announced (``milvus-lite-cpp``, ...)."""
    return _ANNOUNCED.get(str(announced_engine), "lite")
