"""The release sweep's table (the ``sweep`` section of a sweep result) as Markdown and as HTML: per method the
releases where it passes, diverges (by signature), is known or unsupported, and for each divergence the first
release that shows it and the first that no longer does."""

from __future__ import annotations

from typing import Any

from markupsafe import escape

from reports.markdown import _table

#: How a status reads in a release cell.
MARK = {"pass": "✓", "diverges": "D", "known-divergence": "K", "unsupported": "u", "error": "E", "absent": "–"}


def ranges(versions: list[str], all_versions: list[str]) -> str:
    """Versions as runs of consecutive swept releases: ``2.6.0–2.6.4, 3.0.1``."""
    if not versions:
        return ""
    index = {v: i for i, v in enumerate(all_versions)}
    runs: list[list[str]] = []
    for v in sorted(versions, key=lambda x: index.get(x, -1)):
        if runs and index.get(v, -9) == index.get(runs[-1][-1], -99) + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def _summary_rows(sec: dict[str, Any]) -> list[list[str]]:
    rel = sec["releases"]
    rows = []
    for m in sec["methods"]:
        r = m["releases"]
        sigs = [d for d in sec["divergences"] if d["method"] == m["method"]]
        div = "; ".join(f"{ranges(d['releases'], rel)} [{d['signature']}]" for d in sigs
                        if not d.get("known")) if r.get("diverges") else ""
        rows.append([f"`{m['method']}`", ranges(r.get("pass", []), rel), div, ranges(r.get("known-divergence", []), rel),
                     ranges(r.get("unsupported", []), rel), ranges(r.get("error", []), rel),
                     ranges(r.get("absent", []), rel)])
    return rows


def _divergence_rows(sec: dict[str, Any]) -> list[list[str]]:
    return [[f"`{d['method']}`", d["signature"], "known" if d.get("known") else "new", d["first_seen"],
             d["first_gone"] or "still in the newest on that server", str(d.get("server") or "")]
            for d in sec["divergences"]]


def _timing_rows(sec: dict[str, Any]) -> list[list[str]]:
    return [[t["version"], str(t.get("server") or t.get("engine")), f"{t.get('install_seconds') or 0:.0f}",
             f"{t.get('seconds') or 0:.0f}", str(t.get("harness") or "")] for t in sec.get("timing") or []]


SUMMARY_HEAD = ["method", "passes", "diverges (signature)", "known", "unsupported", "error (harness bug)", "absent"]
DIVERGENCE_HEAD = ["method", "signature", "verdict", "first release showing it", "first release without it",
                   "server"]
TIMING_HEAD = ["release", "server", "install s", "run s", "harness build"]


def markdown(sec: dict[str, Any], title: str = "pymilvus release sweep") -> str:
    """The sweep table as Markdown."""
    rel = sec["releases"]
    out = [f"## {title}", "", f"Swept: {ranges(rel, rel) or 'none'} ({len(rel)} releases)."]
    if sec.get("partial"):
        out.append(f"**Partial**: {sec['partial']}")
    for e in sec.get("not_swept") or []:
        out.append(f"- not swept: {e['version']} ({e['status']}): {'; '.join(e.get('notes') or [])[:300]}")
    out += ["", "### Per method", ""] + _table(SUMMARY_HEAD, _summary_rows(sec))
    out += ["", "### Divergences: which release brought each, and which removed it", ""]
    out += _table(DIVERGENCE_HEAD, _divergence_rows(sec)) if sec["divergences"] else ["No divergence in any release."]
    out += ["", "### Method x release", "", "✓ pass, D diverges, K known divergence, u unsupported, E error, – absent", ""]
    out += _table(["method", *rel], [[f"`{m['method']}`"] + [MARK.get(m["cells"][v]["status"], "?") for v in rel]
                                     for m in sec["methods"]])
    out += ["", "### Time per release", ""] + _table(TIMING_HEAD, _timing_rows(sec))
    if sec.get("wall_seconds") is not None:
        out.append(f"\nWall time of this invocation: {sec['wall_seconds'] / 60:.1f} min (resumed releases not rerun).")
    return "\n".join(out) + "\n"


def _html_table(head: list[str], rows: list[list[str]], css: list[list[str]] | None = None) -> str:
    h = "".join(f"<th>{escape(c)}</th>" for c in head)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, c in enumerate(row):
            cls = f' class="{css[i][j]}"' if css and css[i][j] else ""
            cells.append(f"<td{cls}>{escape(str(c).strip('`'))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{h}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html(sec: dict[str, Any], title: str = "pymilvus release sweep") -> str:
    """The sweep table as one self-contained HTML document."""
    rel = sec["releases"]
    grid = [[m["method"]] + [MARK.get(m["cells"][v]["status"], "?") for v in rel] for m in sec["methods"]]
    css = [[""] + [m["cells"][v]["status"] for v in rel] for m in sec["methods"]]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>"
             "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}.pass{background:#dfd}"
             ".diverges{background:#fcc}.known-divergence{background:#ffd}.unsupported{background:#eee}"
             ".error{background:#fa6}.absent{color:#999}</style></head><body>",
             f"<h1>{escape(title)}</h1><p>Swept: {escape(ranges(rel, rel) or 'none')} ({len(rel)} releases)</p>"]
    if sec.get("partial"):
        parts.append(f"<p><b>Partial</b>: {escape(sec['partial'])}</p>")
    parts += ["<h2>Per method</h2>", _html_table(SUMMARY_HEAD, _summary_rows(sec)),
              "<h2>Divergences</h2>", _html_table(DIVERGENCE_HEAD, _divergence_rows(sec)),
              "<h2>Method x release</h2>", _html_table(["method", *rel], grid, css),
              "<h2>Time per release</h2>", _html_table(TIMING_HEAD, _timing_rows(sec)), "</body></html>"]
    return "".join(parts)
