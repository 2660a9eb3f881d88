"""Small generated-data scenario TOML texts for tests: one builder instead of a hand-written copy per test file."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Sequence

#: The one task most scenarios run.
DENSE_SEARCH = [{"kind": "dense_search"}]


def toml_value(value: Any) -> str:
    """One value as TOML text (strings, booleans, numbers, lists and inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def toml_table(header: str, values: dict[str, Any]) -> str:
    """A ``[header]`` table with one ``key = value`` line per entry (None values left out)."""
    lines = [f"[{header}]"] + [f"{k} = {toml_value(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def scenario_text(name: str, *, rows: int, queries: int, dim: int, seed: int | None = None,
                  index: str = "FLAT", metric: str = "L2", params: dict[str, Any] | None = None,
                  pct: bool = False, more_fields: Sequence[dict[str, Any]] = (), dataset: dict[str, Any] | None = None,
                  more_indexes: Sequence[dict[str, Any]] = (), workload: dict[str, Any] | None = None,
                  tasks: str | Sequence[dict[str, Any]] = DENSE_SEARCH,
                  load: dict[str, Any] | None = None, load_extra: str = "", tail: str = "") -> str:
    """A scenario over ``rows`` gaussian vectors of ``dim`` (plus an INT64 ``pct`` column when ``pct``).

    ``more_fields``, ``dataset`` (more ``[dataset]`` keys) and ``more_indexes`` extend the collection.
    ``tasks`` are the ``[[workload.tasks]]`` (their keys, or TOML text), ``load`` the ``[load]`` keys (no ``[load]``
    table when None), ``load_extra`` more ``[load]`` lines as text and ``tail`` any further tables (``[slo]``...).
    """
    fields = [{"name": "id", "type": "INT64", "primary": True},
              {"name": "vector", "type": "FLOAT_VECTOR", "dim": dim}]
    if pct:
        fields.append({"name": "pct", "type": "INT64"})
    fields += more_fields
    parts = [
        f"name = {toml_value(name)}\n",
        toml_table("dataset", {"kind": "generated", "generator": "gaussian", "rows": rows, "queries": queries,
                               "seed": seed, **(dataset or {})}),
        toml_table("collection", {"name": name, "fields": fields}),
        toml_table("[indexes]", {"field": "vector", "index_type": index, "metric": metric, "params": params}),
        *(toml_table("[indexes]", extra) for extra in more_indexes),
        toml_table("workload", workload or {}),
        textwrap.dedent(tasks).strip() + "\n" if isinstance(tasks, str)
        else "".join(toml_table("[workload.tasks]", task) for task in tasks),
    ]
    if load is not None:
        parts.append(toml_table("load", load))
    if load_extra:
        parts.append(textwrap.dedent(load_extra).strip() + "\n")
    if tail:
        parts.append(textwrap.dedent(tail).strip() + "\n")
    return "".join(parts)


def write_scenario(path: Path, name: str, **options: Any) -> Path:
    """Write :func:`scenario_text` of ``name`` and ``options`` to ``path`` and return it."""
    path.write_text(scenario_text(name, **options))
    return path
