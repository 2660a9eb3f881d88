"""Check one method with Hypothesis: many examples through both clients, shrunk to a minimal divergence, and a
verdict for the report (pass / diverges / unsupported / known-divergence / error)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hypothesis import example, given, settings

from conformance import known, profiles
from conformance.example import Divergence, SetupError, run_example
from conformance.registry import MethodSpec
from conformance.reproducer import write_reproducer
from conformance.runner import Runner
from conformance.servers import lacking_need
from conformance.world import build, cleanup, new_namespaces
from scenarios.errors import InfrastructureError

STATUSES = ("pass", "diverges", "unsupported", "known-divergence", "error")


@dataclass
class Verdict:
    """The outcome of one method on one server."""

    method: str
    category: str
    server: str
    pymilvus: str
    status: str
    detail: str = ""
    examples: int = 0
    reproducer: Optional[str] = None
    known_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the result file."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def check_method(runner: Runner, spec: MethodSpec, server: str, *, out_dir: Optional[Path] = None,
                 entries: Optional[list[known.KnownDivergence]] = None, max_examples: Optional[int] = None
                 ) -> Verdict:
    """Run ``spec``'s property on ``runner``'s server and return the verdict (never raises for a divergence)."""
    import pymilvus

    version = pymilvus.__version__
    verdict = Verdict(spec.name, spec.category, server, version, "pass")
    count = max_examples or profiles.examples_for(spec.weight, spec.mutates)
    lacking = lacking_need(server, spec.needs)
    if lacking:
        verdict.status, verdict.detail = "unsupported", lacking
        return apply_known(verdict, spec, server, version, entries)
    if not runner.server_alive():  # fail fast: one dead server must not cost every later method a timeout
        verdict.status, verdict.detail = "error", f"infrastructure: the server at {runner.conn.uri} is not answering"
        return verdict
    shared = None
    answered: list[bool] = []  # examples the server did not answer with UNIMPLEMENTED
    if not spec.mutates and spec.needs:
        shared, _ = new_namespaces(shared=True)
    try:
        if shared is not None:
            try:
                build(runner.sync, shared, spec.needs, runner.timeout)
            except Exception as exc:  # noqa: BLE001
                runner.check_server(exc)
                raise SetupError(f"cannot build {[n.value for n in spec.needs]}: {exc}") from exc

        def body(kwargs: dict[str, Any]) -> None:
            verdict.examples += 1
            sync, _ = run_example(runner, spec, kwargs, shared=shared)
            if sync.ok or (sync.error or {}).get("code") != "UNIMPLEMENTED":
                answered.append(True)

        prop = given(kwargs=spec.args())(body)
        for kwargs in spec.explicit:  # run in every profile, before the generated examples
            prop = example(kwargs=kwargs)(prop)
        settings(max_examples=count, deadline=None)(prop)()
    except Divergence as div:
        verdict.status, verdict.detail = "diverges", div.why
        if out_dir is not None:
            verdict.reproducer = str(write_reproducer(div, runner.conn, out_dir))
        verdict.extra = {"kwargs": repr(div.kwargs)[:2000], "sync": div.sync, "async": div.asyn}
    except SetupError as exc:
        verdict.status, verdict.detail = "error", f"setup failed: {exc}"
    except InfrastructureError as exc:
        verdict.status, verdict.detail = "error", f"infrastructure: {exc}"
    finally:
        if shared is not None:
            cleanup(runner.sync, [shared.prefix], runner.timeout)
    reason = spec.unsupported_reason(server)
    if reason and verdict.status in ("pass", "error"):
        note = verdict.detail or ("" if not answered else "the server did answer some calls: is the registry stale?")
        verdict.status, verdict.detail = "unsupported", reason + (f" ({note})" if note else "")
    elif verdict.status == "pass" and verdict.examples and not answered:
        verdict.status = "error"
        verdict.detail = (f"the server answered UNIMPLEMENTED to every example, but the registry does not mark "
                          f"{spec.name} unsupported on {server}: add it to the spec's 'unsupported'")
    return apply_known(verdict, spec, server, version, entries)


def apply_known(verdict: Verdict, spec: MethodSpec, server: str, version: str,
                entries: Optional[list[known.KnownDivergence]]) -> Verdict:
    """``verdict`` after the known-divergence registry: a listed divergence is known, a listed pass is stale."""
    entry = known.lookup(entries if entries is not None else known.load(), spec.name, server, version)
    if entry is not None:
        verdict.known_reason = entry.reason
        if verdict.status == "diverges":
            verdict.status = "known-divergence"
        elif verdict.status == "pass":  # an unsupported method shows nothing either way
            verdict.status = "diverges"
            verdict.detail = (f"listed as a known divergence ({entry.reason}) but it no longer diverges: "
                              "remove the entry from known_divergences.toml")
    return verdict
