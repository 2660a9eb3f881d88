"""The known-divergence registry (``known_divergences.toml``): divergences already understood, per server family
and pymilvus version, each with a reason and the **signature** of the difference it accepts.

Matching model. Every divergence the suite sees (one example of a method, one state-machine step, one flow step)
has a :class:`Signature`:

- ``kind``: ``async-raised`` (sync returned, async raised), ``sync-raised`` (the reverse), ``error-differs`` (both
  raised, differently), ``value-differs`` (both returned, different values), ``effects-differs`` (the calls agree,
  what the server shows afterwards does not);
- ``path``: where the first difference is (``result.aliases``, ``error.code``, ``side effects.0:describe_collection``;
  empty when one side raised);
- ``step``: the flow step (whole-flow checks only);
- each side's error as ``{class, code, message}`` (``None`` when that side returned);
- ``why``: the difference as text.

An entry may say ``occasional = true``: only some drawn calls show it (an edge value, a short timeout), so a run
whose examples did not show it is not stale. An entry names ``method`` (a name, or a glob over method names for one signature many methods share: such an
entry is never stale for a single method), ``server`` (glob), ``pymilvus`` (specifier), ``reason`` and ``kind`` (one kind, or a list
of kinds any of which matches: the same bug can show as async-raised on one server and error-differs on another where
the sync call fails too); its optional fields
``path`` (the difference's path or a path containing it), ``step`` (a regular expression the whole step name must
match: one index's step is ``create_index[<field>]``, its fallback ``create_index[<field>] fallback <INDEX>``),
``sync_error`` / ``async_error`` (class name), ``sync_code`` / ``async_code``, ``sync_message`` / ``async_message`` /
``why`` (regular expressions, searched), ``timeout_below`` (the call passed a per-call timeout below this many
seconds) must ALL match for a divergence to be known. Any other divergence of the same method is new. A malformed entry (unknown key,
bad kind, regex or specifier) is a bad-input error naming it; an entry that matched nothing in a run that ran its
method is stale (see :func:`stale_message`).
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from conformance.replay import POSITIONAL
from vdb_harness.kernel.errors import BadInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_PATH = Path(__file__).with_name("known_divergences.toml")

KINDS = ("async-raised", "sync-raised", "error-differs", "value-differs", "effects-differs")
#: Which side raised, per kind (effects-differs: both or neither, so not fixed).
RAISED = {"async-raised": "async", "sync-raised": "sync", "error-differs": "both", "value-differs": "neither"}
_WHERE_KEYS = ("method", "server", "pymilvus", "reason", "issue", "occasional")
_SIGNATURE_KEYS = ("kind", "path", "step", "why", "sync_error", "sync_code", "sync_message", "async_error",
                   "async_code", "async_message", "timeout_below")
_REGEX_KEYS = ("why", "step", "sync_message", "async_message")
_EFFECTS = "side effects"


@dataclass(frozen=True)
class Signature:
    """What one divergence looks like: its kind, where it is, and each side's error."""

    kind: str
    path: str = ""
    step: str = ""
    sync_error: Optional[dict[str, Any]] = None
    async_error: Optional[dict[str, Any]] = None
    why: str = ""
    #: The per-call timeout the call passed (None: it passed none, or the harness' own).
    timeout: Optional[float] = None

    @property
    def raised(self) -> str:
        """Which side raised: sync, async, both or neither."""
        return {(True, True): "both", (True, False): "sync", (False, True): "async"}.get(
            (self.sync_error is not None, self.async_error is not None), "neither")

    def describe(self) -> str:
        """One line for reports and for writing a registry entry."""
        parts = [f"kind={self.kind}"] + ([f"path={self.path}"] if self.path else []) + \
            ([f"step={self.step}"] if self.step else [])
        for side, err in (("sync", self.sync_error), ("async", self.async_error)):
            if err is not None:
                parts.append(f"{side}_error={err.get('class')} {side}_code={err.get('code')}")
        if self.timeout is not None:
            parts.append(f"timeout={self.timeout}")
        return ", ".join(parts)


def _path_of(why: str) -> str:
    """The path at the start of a difference text (``result.x: 1 != 2`` -> ``result.x``)."""
    text = why.removeprefix("structure differs: ")
    head = text.split(": ", 1)[0] if ": " in text else ""
    if head[:1] in (".", "[", "<"):
        return "result" + head
    return head if head.startswith(("result", "error", _EFFECTS, "value")) else ""


def signature_of(why: str, sync: dict[str, Any], asyn: dict[str, Any], step: str = "",
                 timeout: Optional[float] = None) -> Signature:
    """The signature of a difference ``why`` between two outcomes ``{ok, error: {class, code, message}}``
    (``timeout``: the per-call timeout the call passed, if any)."""
    s_ok, a_ok = bool(sync.get("ok")), bool(asyn.get("ok"))
    s_err = None if s_ok else dict(sync.get("error") or {})
    a_err = None if a_ok else dict(asyn.get("error") or {})
    if s_ok and not a_ok:
        return Signature("async-raised", "", step, None, a_err, why, timeout)
    if a_ok and not s_ok:
        return Signature("sync-raised", "", step, s_err, None, why, timeout)
    path = _path_of(why)
    if path.startswith(_EFFECTS):
        kind = "effects-differs"
    else:
        kind = "value-differs" if s_ok else "error-differs"
    return Signature(kind, path, step, s_err, a_err, why, timeout)


def call_timeout(method: str, kwargs: dict[str, Any]) -> Optional[float]:
    """The per-call timeout a call passes, by keyword or positionally in the sync order (None: none)."""
    value = kwargs.get("timeout")
    positional = kwargs.get(POSITIONAL)
    if value is None and positional:
        from conformance.arguments import positional_params, sync_method

        names = [p.name for p in positional_params(sync_method(method))]
        if "timeout" in names and names.index("timeout") < len(positional):
            value = positional[names.index("timeout")]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def signature(div: Any) -> Signature:
    """The signature of a :class:`conformance.example.Divergence` (its ``why``, ``sync`` and ``asyn`` outcomes,
    and the per-call timeout its call passed)."""
    return signature_of(div.why, div.sync, div.asyn, timeout=call_timeout(div.method, div.kwargs or {}))


def step_signature(comparison: Any) -> Signature:
    """The signature of a diverged flow step (:class:`conformance.flow.StepComparison`)."""
    def side(o: Any) -> dict[str, Any]:
        if o is None:
            return {"ok": False, "error": {"class": "missing step", "code": None, "message": "the step did not run"}}
        return {"ok": o.ok, "error": None if o.ok else
                {"class": o.error_type, "code": o.error_code, "message": o.error}}

    return signature_of(comparison.why or "", side(comparison.sync), side(comparison.asyn), comparison.step)


@dataclass(frozen=True)
class KnownDivergence:
    """One entry: which method, where (server glob, pymilvus specifier), why, and the signature it accepts."""

    method: str
    server: str
    pymilvus: str
    reason: str
    kind: tuple[str, ...] = ()
    issue: str = ""
    path: str = ""
    step: str = ""
    sync_error: str = ""
    async_error: str = ""
    sync_code: Any = None
    async_code: Any = None
    sync_message: str = ""
    async_message: str = ""
    why: str = ""
    #: Matches only calls that passed a per-call timeout below this many seconds (a deadline race, not a bug).
    timeout_below: Optional[float] = None
    #: Only some drawn calls show it (an edge value, a timeout): a run whose examples did not is no sign it is fixed.
    occasional: bool = False
    #: Where the entry is (file and index): named by every error about it.
    name: str = field(default="", compare=False)

    def applies(self, method: str, server: str, pymilvus_version: str) -> bool:
        """True when this entry covers ``method`` on ``server`` with ``pymilvus_version``."""
        if not self.covers(method) or not fnmatch.fnmatch(server, self.server):
            return False
        return not self.pymilvus or Version(pymilvus_version) in SpecifierSet(self.pymilvus)

    @property
    def pattern(self) -> bool:
        """True when ``method`` is a glob over method names (``*``, ``list_*``): one signature shared by many
        methods (e.g. the async client's retry loop refusing every call with a tiny timeout). Such an entry is not
        required to match in every method it covers (so it is never stale for one method)."""
        return any(c in self.method for c in "*?[")

    @property
    def may_be_unseen(self) -> bool:
        """True when a run of its method that did not show it says nothing (a glob, or ``occasional``): such an
        entry is never reported stale."""
        return self.pattern or self.occasional

    def covers(self, method: str) -> bool:
        """True when the entry names ``method`` (exactly, or by its glob; a glob covers a whole-run check such as
        ``flow:seed_tutorial`` or ``lifecycle:close`` only when it names that kind of check, e.g. ``flow:*``)."""
        if not self.pattern:
            return method == self.method
        kind = method.partition(":")[0] if ":" in method else ""
        if kind and not self.method.startswith(f"{kind}:"):
            return False
        return fnmatch.fnmatchcase(method, self.method)

    def matches(self, sig: Signature) -> bool:
        """True when every field this entry states matches ``sig``."""
        if self.kind and sig.kind not in self.kind:
            return False
        if self.path and not _within(sig.path, self.path):
            return False
        if self.step and not re.fullmatch(self.step, sig.step):
            return False
        if self.why and not re.search(self.why, sig.why):
            return False
        if self.timeout_below is not None and (sig.timeout is None or sig.timeout >= self.timeout_below):
            return False
        for err, cls, code, message in ((sig.sync_error, self.sync_error, self.sync_code, self.sync_message),
                                        (sig.async_error, self.async_error, self.async_code, self.async_message)):
            if not (cls or code is not None or message):
                continue
            if err is None:
                return False
            if cls and err.get("class") != cls:
                return False
            if code is not None and not _same_code(err.get("code"), code):
                return False
            if message and not re.search(message, str(err.get("message") or "")):
                return False
        return True

    def label(self) -> str:
        """How reports and errors name the entry."""
        return f"{self.name or 'known divergence'} ({self.method} on {self.server}, pymilvus {self.pymilvus or 'any'})"


def _same_code(seen: Any, stated: Any) -> bool:
    """An error code as recorded (an int, an IntEnum, a gRPC status name) equals the entry's (int or name)."""
    try:
        return int(seen) == int(stated)
    except (TypeError, ValueError):
        return str(getattr(seen, "name", seen)) == str(stated)


def _within(path: str, prefix: str) -> bool:
    """``path`` is ``prefix`` or lies inside it (``result.a[0]`` is inside ``result.a`` and ``result``)."""
    return path == prefix or (path.startswith(prefix) and path[len(prefix)] in ".[<")


def _entry(raw: Any, name: str) -> KnownDivergence:
    if not isinstance(raw, dict):
        raise BadInputError(f"{name}: must be a table")
    unknown = sorted(set(raw) - set(_WHERE_KEYS) - set(_SIGNATURE_KEYS))
    if unknown:
        raise BadInputError(f"{name}: unknown key(s) {unknown}; allowed: {list(_WHERE_KEYS + _SIGNATURE_KEYS)}")
    for key in ("method", "reason", "kind"):
        if not raw.get(key):
            raise BadInputError(f"{name}: needs {key!r}" + (f" (one of {list(KINDS)}: the signature it accepts)"
                                                            if key == "kind" else ""))
    kinds = raw["kind"] if isinstance(raw["kind"], list) else [raw["kind"]]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise BadInputError(f"{name}: kind {raw['kind']!r} is not one of {list(KINDS)} (or a list of them)")
    if "occasional" in raw and not isinstance(raw["occasional"], bool):
        raise BadInputError(f"{name}: occasional must be true or false, got {raw['occasional']!r}")
    for key in sorted(set(raw) - {"kind", "occasional"}):
        allowed = (str, int) if key in ("sync_code", "async_code") else (int, float) if key == "timeout_below" \
            else (str,)
        if not isinstance(raw[key], allowed) or isinstance(raw[key], bool):
            what = {(str, int): "string or integer", (int, float): "number"}.get(allowed, "string")
            raise BadInputError(f"{name}: {key} must be a {what}, got {raw[key]!r}")
    for key in _REGEX_KEYS:
        try:
            re.compile(raw.get(key, ""))
        except re.error as exc:
            raise BadInputError(f"{name}: {key} is not a valid regular expression: {exc}") from None
    try:
        SpecifierSet(raw.get("pymilvus", ""))
    except InvalidSpecifier:
        raise BadInputError(f"{name}: pymilvus {raw.get('pymilvus')!r} is not a version specifier") from None
    for side in ("sync", "async"):
        states_error = any(k in raw for k in (f"{side}_error", f"{side}_code", f"{side}_message"))
        silent = ("neither", "async" if side == "sync" else "sync")
        if states_error and all(RAISED.get(k) in silent for k in kinds):
            raise BadInputError(f"{name}: kind {raw['kind']!r} means the {side} client did not raise, so its "
                                f"{side}_error/{side}_code/{side}_message can never match")
    return KnownDivergence(server=raw.get("server", "*"), pymilvus=raw.get("pymilvus", ""), name=name,
                           kind=tuple(kinds),
                           **{k: v for k, v in raw.items() if k not in ("server", "pymilvus", "kind")})


def load(path: Optional[Path] = None) -> list[KnownDivergence]:
    """The entries of the registry file; a malformed file or entry is a bad-input error naming it."""
    p = Path(path or os.environ.get("VDB_HARNESS_KNOWN_DIVERGENCES") or DEFAULT_PATH)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(f"{p}: cannot read the known-divergence registry: {exc}") from None
    unknown = sorted(set(data) - {"divergence"})
    if unknown:
        raise BadInputError(f"{p}: unknown top-level key(s) {unknown}: entries are [[divergence]] tables")
    return [_entry(raw, f"{p.name}: divergence[{i}]" + (f" ({raw.get('method')})" if isinstance(raw, dict) else ""))
            for i, raw in enumerate(data.get("divergence", []))]


def applicable(entries: Iterable[KnownDivergence], method: str, server: str,
               pymilvus_version: str) -> list[KnownDivergence]:
    """The entries covering this method on this server and pymilvus."""
    return [e for e in entries if e.applies(method, server, pymilvus_version)]


def lookup(entries: list[KnownDivergence], method: str, server: str,
           pymilvus_version: str) -> Optional[KnownDivergence]:
    """The first entry covering this method/server/version, if any (whatever its signature)."""
    return next(iter(applicable(entries, method, server, pymilvus_version)), None)


def match(entries: Iterable[KnownDivergence], sig: Signature) -> Optional[KnownDivergence]:
    """The first of ``entries`` (already :func:`applicable`) whose signature accepts ``sig``; None = a new one."""
    return next((e for e in entries if e.matches(sig)), None)


def stale_message(entry: KnownDivergence, runs: int) -> str:
    """The error for an entry whose signature matched none of ``runs`` checks of its method."""
    return (f"{entry.label()}: its signature ({'/'.join(entry.kind)}{', path ' + entry.path if entry.path else ''}"
            f"{', step ' + entry.step if entry.step else ''}) matched none of the {runs} checks that ran: "
            f"the divergence is fixed or looks different now: correct or remove the entry in known_divergences.toml")


def strict() -> bool:
    """True when known divergences must fail too (``--strict`` / VDB_HARNESS_CONFORMANCE_STRICT=1)."""
    return os.environ.get("VDB_HARNESS_CONFORMANCE_STRICT", "") not in ("", "0", "false")


@dataclass
class FlowVerdict:
    """A whole-flow check settled against the registry: status, message, and per-step known entry (by step)."""

    status: str
    message: str
    known_steps: dict[str, KnownDivergence] = field(default_factory=dict)


def settle(name: str, server: str, diverged: list[Any], entries: Optional[list[KnownDivergence]] = None,
           pymilvus_version: Optional[str] = None) -> FlowVerdict:
    """A whole-flow check ``name`` (e.g. ``flow:seed_tutorial``) from its diverged steps (StepComparisons, those
    that only follow from another one excluded): pass, diverges (a new step divergence, or a stale entry: error),
    or known-divergence."""
    if pymilvus_version is None:
        import pymilvus

        pymilvus_version = pymilvus.__version__
    listed = applicable(load() if entries is None else entries, name, server, pymilvus_version)
    known_steps: dict[str, KnownDivergence] = {}
    new: list[str] = []
    for c in diverged:
        entry = match(listed, step_signature(c))
        if entry is None:
            new.append(f"{c.step}: {c.why} [{step_signature(c).describe()}]")
        else:
            known_steps[c.step] = entry
    if new:
        return FlowVerdict("diverges", "; ".join(new)[:2000], known_steps)
    stale = [e for e in listed if e not in known_steps.values() and not e.may_be_unseen]
    if stale:
        return FlowVerdict("error", "; ".join(stale_message(e, 1) for e in stale), known_steps)
    if known_steps:
        text = "; ".join(f"{step}: {e.reason}" for step, e in known_steps.items())
        return FlowVerdict("known-divergence", text, known_steps)
    return FlowVerdict("pass", "")
