"""The Markdown summary: short enough for a CI job summary or a PR comment, with the verdict first."""

from __future__ import annotations

from reports.inputs import LoadedResult
from reports.summary import (TASK_COLUMNS, capacity_summary, conformance_counts, conformance_failures,
                             conformance_grid, header, run_divergences, run_steps, slo_checks, task_table)

ICON = {"pass": "✅", "fail": "❌", "error": "⚠️", "interrupted": "⏹️"}


def _table(head: list[str] | tuple[str, ...], body: list[list[str]]) -> list[str]:
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + \
           ["| " + " | ".join(cell(c) for c in row) + " |" for row in body]


#: How a status reads in the combined matrix (short, and the failing ones stand out).
CELL = {"pass": "pass", "diverges": "❌ diverges", "error": "⚠️ error", "unsupported": "unsupported",
        "known-divergence": "known"}


def _combined_conformance(results: list[LoadedResult]) -> list[str]:
    """One method x (server / pymilvus) table over several conformance results (nothing for fewer than two)."""
    if len(results) < 2:
        return []
    cols, grid = conformance_grid(*results)
    body = [[f"`{method}`"] + [CELL.get(c["status"], c["status"]) if c else "–" for c in cells]
            for method, cells in grid]
    return ["", f"### Conformance across {len(cols)} server / pymilvus pairs", "",
            "– : not in that run (the method does not exist in that pymilvus version, or the run did not select it).", ""] + _table(["method", *cols], body)


def render(results: list[LoadedResult], title: str = "vdb-harness report") -> str:
    """The whole summary as Markdown text."""
    heads = [header(r) for r in results]
    bad = [h for h in heads if h["status"] != "pass"]
    out = [f"## {title}: {'✅ all passed' if not bad else f'❌ {len(bad)} of {len(results)} not passed'}", ""]
    out += _table(["", "result", "kind", "target", "file"],
                  [[ICON.get(h["status"], "?") + " " + h["status"], h["name"], h["kind"], h["target"], f"`{h['file']}`"]
                   for h in heads])
    out += _combined_conformance([r for r in results if r.kind == "conformance" and r.section()])
    for r in results:
        if r.kind == "load" and (table := task_table(r)):
            out += ["", f"### {r.name}", ""] + _table(TASK_COLUMNS, table)
            failed = [c for c in slo_checks(r) if not c.get("ok")]
            out += [""] + [f"- ❌ SLO {c.get('name')}{' (' + c['task'] + ')' if c.get('task') else ''}: "
                           f"{c.get('value')} vs limit {c.get('limit')}" for c in failed]
        elif r.kind == "conformance":
            counts = conformance_counts(r)
            out += ["", f"### {r.name}", "", ", ".join(f"{k}: {v}" for k, v in counts.items() if v)]
            fails = conformance_failures(r)
            if fails:
                out += [""] + _table(["method", "server", "pymilvus", "status", "detail"],
                                     [[f["method"], f.get("server", ""), f.get("pymilvus", ""), f["status"],
                                       f.get("detail") or ""] for f in fails])
        elif r.kind == "run":
            diverged = run_divergences(r)
            out += ["", f"### {r.name}", "", f"{len(run_steps(r))} flow steps; "
                    + (f"{len(diverged)} diverge between MilvusClient and AsyncMilvusClient:" if diverged
                       else "MilvusClient and AsyncMilvusClient agree on every step.")]
            out += [f"- {'❌' if case.fails else '☑️'} `{st.get('step')}` ({case.label}): {case.detail}"
                    for st, case in diverged]
        elif r.kind == "capacity":
            out += ["", f"### {r.name}", ""] + [f"- {s}" for s in capacity_summary(r)]
        for note in r.data.get("notes") or []:
            out.append(f"- note: {note}")
    return "\n".join(out).rstrip() + "\n"
