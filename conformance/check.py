"""Check one method with Hypothesis: many examples through both clients, each with its own verdict (agree, known,
new) against the known-divergence registry's signatures, a new divergence shrunk to a minimal one, and a verdict
for the report (pass / diverges / unsupported / known-divergence / error)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from conformance import arguments, known, profiles
from conformance.example import Divergence, SetupError, run_example
from conformance.registry import MethodSpec
from conformance.reproducer import write_reproducer
from conformance.runner import Runner
from conformance.servers import lacking_need
from conformance.verdicts import STATUSES
from conformance.world import build, cleanup, new_namespaces
from vdb_harness.kernel.errors import InfrastructureError

__all__ = ["STATUSES", "Verdict", "Tally", "check_method"]


@dataclass
class Verdict:
    """The outcome of one method on one server, with its per-example counts."""

    method: str
    category: str
    server: str
    pymilvus: str
    status: str
    detail: str = ""
    #: Examples run (explicit and drawn; the attempts Hypothesis makes while shrinking a new one not counted).
    examples: int = 0
    agreeing: int = 0
    known: int = 0
    new: int = 0
    #: Examples whose starting state could not be built (the first one ends the method with status ``error``).
    errors: int = 0
    reproducer: Optional[str] = None
    known_reason: str = ""
    #: Each distinct divergence signature seen: {signature: {"count", "verdict" (known/new), "entry"}}.
    signatures: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the result file."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class Tally:
    """Per-example verdicts of one method against the registry entries that apply to it."""

    def __init__(self, verdict: Verdict, entries: list[known.KnownDivergence]) -> None:
        self.verdict, self.entries = verdict, entries
        self.matched: list[known.KnownDivergence] = []
        self.first_known: Optional[Divergence] = None
        self.first_new: Optional[Divergence] = None

    def entry_for(self, div: Divergence) -> Optional[known.KnownDivergence]:
        """The entry whose signature accepts ``div`` (None: a new divergence)."""
        return known.match(self.entries, known.signature(div))

    def record(self, div: Optional[Divergence]) -> str:
        """Count one example (``div`` None: the clients agreed); returns agree, known or new."""
        v = self.verdict
        v.examples += 1
        if div is None:
            v.agreeing += 1
            return "agree"
        sig = known.signature(div)
        entry = known.match(self.entries, sig)
        seen = v.signatures.setdefault(sig.describe(), {"count": 0, "verdict": "new" if entry is None else "known",
                                                        "entry": entry.name if entry else None, "why": div.why[:300]})
        seen["count"] += 1
        if entry is None:
            v.new += 1
            self.first_new = self.first_new or div
            return "new"
        v.known += 1
        self.first_known = self.first_known or div
        if entry not in self.matched:
            self.matched.append(entry)
        return "known"


def _answered(sync: dict[str, Any]) -> bool:
    """The server did not answer this example's sync call with UNIMPLEMENTED."""
    return bool(sync.get("ok")) or (sync.get("error") or {}).get("code") != "UNIMPLEMENTED"


def check_method(runner: Runner, spec: MethodSpec, server: str, *, out_dir: Optional[Path] = None,
                 entries: Optional[list[known.KnownDivergence]] = None, max_examples: Optional[int] = None
                 ) -> Verdict:
    """Run ``spec``'s property on ``runner``'s server and return the verdict (never raises for a divergence).
    ``entries``: the registry (None: load ``known_divergences.toml``; ``[]``: every divergence is new)."""
    import pymilvus

    version = pymilvus.__version__
    verdict = Verdict(spec.name, spec.category, server, version, "pass")
    listed = known.applicable(known.load() if entries is None else entries, spec.name, server, version)
    tally = Tally(verdict, listed)
    count = max_examples or (profiles.examples_for(spec.weight, spec.mutates)
                             + arguments.signature_examples(spec.weight, spec.mutates))
    lacking = lacking_need(server, spec.needs)
    if lacking:
        verdict.status, verdict.detail = "unsupported", lacking
        return verdict
    if not runner.server_alive():  # fail fast: one dead server must not cost every later method a timeout
        verdict.status, verdict.detail = "error", f"infrastructure: the server at {runner.conn.uri} is not answering"
        return verdict
    shared = None
    answered: list[bool] = []  # examples the server did not answer with UNIMPLEMENTED
    shown: Optional[Divergence] = None  # the (shrunk) new divergence the report and the reproducer show
    explicit_new: Optional[Divergence] = None
    if not spec.mutates and spec.needs:
        shared, _ = new_namespaces(shared=True)
    try:
        if shared is not None:
            try:
                build(runner.sync, shared, spec.needs, runner.timeout)
            except Exception as exc:  # noqa: BLE001
                runner.check_server(exc)
                raise SetupError(f"cannot build {[n.value for n in spec.needs]}: {exc}") from exc

        shrinking = [False]  # after the first new drawn example, Hypothesis' calls are shrinking attempts

        def one(kwargs: dict[str, Any]) -> Optional[Divergence]:
            try:
                sync, _ = run_example(runner, spec, kwargs, shared=shared)
            except SetupError:
                if not shrinking[0]:
                    verdict.examples += 1
                    verdict.errors += 1
                raise
            except Divergence as div:
                if _answered(div.sync):
                    answered.append(True)
                return div
            if _answered(sync.as_dict()):
                answered.append(True)
            return None

        for kwargs in spec.explicit:  # every explicit example runs and gets its own verdict (never shrunk)
            tally.record(one(kwargs))

        def body(kwargs: dict[str, Any]) -> None:
            div = one(kwargs)
            if shrinking[0]:
                if div is not None and tally.entry_for(div) is None:
                    raise div
                return
            if tally.record(div) == "new":
                shrinking[0] = True
                raise div  # type: ignore[misc]  # only a new divergence stops the drawing: Hypothesis shrinks it

        # an explicit example already shows a new divergence (hand-picked, so minimal): the drawn ones run without
        # shrinking, which would only cost time
        explicit_new = tally.first_new
        phases = [p for p in settings().phases if not (explicit_new is not None and p is Phase.shrink)]
        # the hand-written strategy, and calls derived from both signatures (edge values, unknown keywords,
        # timeouts, the sync call form) sent unchanged to both clients
        prop = given(kwargs=st.one_of(spec.args(), arguments.call_strategy(spec)))(body)
        settings(max_examples=count, deadline=None, report_multiple_bugs=False, phases=phases)(prop)()
    except Divergence as div:  # the minimal new divergence Hypothesis shrank (or the explicit one)
        shown = explicit_new or div
    except Flaky:  # the new divergence did not reproduce while shrinking: show the one first seen
        shown = tally.first_new
    except SetupError as exc:
        verdict.status, verdict.detail = "error", f"setup failed: {exc}"
    except InfrastructureError as exc:
        verdict.status, verdict.detail = "error", f"infrastructure: {exc}"
    finally:
        if shared is not None:
            cleanup(runner.sync, [shared.prefix], runner.timeout)
    if verdict.status == "pass" or verdict.new:  # a new divergence is shown even when a later example errs
        _settle(verdict, tally, shown, runner, out_dir)
    reason = spec.unsupported_reason(server)
    if reason and verdict.status in ("pass", "error"):
        note = verdict.detail or ("" if not answered else "the server did answer some calls: is the registry stale?")
        verdict.status, verdict.detail = "unsupported", reason + (f" ({note})" if note else "")
    elif verdict.status == "pass" and verdict.examples and not answered:
        verdict.status = "error"
        verdict.detail = (f"the server answered UNIMPLEMENTED to every example, but the registry does not mark "
                          f"{spec.name} unsupported on {server}: add it to the spec's 'unsupported'")
    if verdict.status in ("pass", "known-divergence") and verdict.examples:
        stale = [e for e in listed if e not in tally.matched and not e.may_be_unseen]
        if stale:  # every example ran and none showed the entry's signature
            verdict.status = "error"
            verdict.detail = "; ".join(known.stale_message(e, verdict.examples) for e in stale) + \
                (f" (this run: {verdict.detail})" if verdict.detail else "")
    return verdict


def _settle(verdict: Verdict, tally: Tally, shown: Optional[Divergence], runner: Runner,
            out_dir: Optional[Path]) -> None:
    """Status, detail and reproducer from the examples' verdicts: any new one diverges, else any known one is known."""
    if verdict.new:
        div = shown or tally.first_new
        assert div is not None
        also = f" (then: {verdict.detail})" if verdict.status == "error" else ""
        verdict.status = "diverges"
        verdict.detail = f"{div.why} [new: {known.signature(div).describe()}]{also}"
    elif verdict.known:
        div = tally.first_known
        assert div is not None
        verdict.status = "known-divergence"
        verdict.detail = div.why
        verdict.known_reason = "; ".join(e.reason for e in tally.matched)
    else:
        return
    if out_dir is not None:
        verdict.reproducer = str(write_reproducer(div, runner.conn, out_dir))
    verdict.extra = {"kwargs": repr(div.kwargs)[:2000], "sync": div.sync, "async": div.asyn}
