"""Read a scenario TOML file into a validated :class:`~scenarios.model.Scenario`, with errors a person can act on."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from vdb_harness.kernel.errors import BadInputError, ScenarioError
from scenarios.model import Scenario

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Scenario files larger than this are refused before parsing (a scenario is a few KiB).
MAX_SCENARIO_BYTES = 4 * 1024 * 1024

EXAMPLES_DIR = Path(__file__).parent / "examples"


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """The file a scenario argument names: a path, or the name of a shipped example (``seed_tutorial``)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    for candidate in (EXAMPLES_DIR / f"{name_or_path}.toml", EXAMPLES_DIR / str(name_or_path)):
        if candidate.is_file():
            return candidate
    shipped = ", ".join(sorted(p.stem for p in EXAMPLES_DIR.glob("*.toml")))
    raise ScenarioError(f"{name_or_path}: no such scenario file (shipped examples: {shipped})")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise :class:`ScenarioError` naming the file and each bad field."""
    path = resolve_scenario_path(name_or_path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file: {exc.strerror or exc}") from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{path}: {len(raw)} bytes is too large for a scenario file "
                            f"(limit {MAX_SCENARIO_BYTES}); is this the right file?")
    return parse_scenario(raw, source=str(path))


def parse_scenario(raw: bytes | str, source: str = "<scenario>") -> Scenario:
    """Validate scenario TOML text; ``source`` names it in errors."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x}); "
                            "a scenario must be a UTF-8 TOML file") from None
    return validate_toml(text, source, Scenario)


M = TypeVar("M", bound=BaseModel)


def validate_toml(text: str, source: str, model: type[M], what: str = "scenario",
                  error: type[BadInputError] = ScenarioError) -> M:
    """A ``model`` from TOML text (a scenario, a gate policy); every problem is one ``error`` naming ``source``
    and, for invalid values, each field path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(source, exc, what)) from None
    except (RecursionError, OverflowError, MemoryError) as exc:  # absurd nesting or numbers
        raise error(f"{source}: cannot be validated ({type(exc).__name__})") from None


def format_validation_error(source: str, exc: ValidationError, what: str = "scenario") -> str:
    """One line per problem: ``file: field.path: what was expected (got: value)``."""
    lines = [f"{source}: {exc.error_count()} problem(s) in the {what}:"]
    for err in exc.errors(include_url=False):
        loc = "".join(_loc_part(p) for p in err["loc"]).lstrip(".") or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling" + ("; see scenarios/examples/ for every key)" if what == "scenario"
                                                      else ")")
        elif err["type"] == "missing":
            msg = "required key is missing"
        got = err.get("input")
        shown = "" if err["type"] in ("missing", "extra_forbidden") or isinstance(got, dict) else \
            f" (got: {_short(got)})"
        lines.append(f"  - {loc}: {msg}{shown}")
    return "\n".join(lines)


def _loc_part(part: Any) -> str:
    return f"[{part}]" if isinstance(part, int) else f".{part}"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scenario_hash(scenario: Scenario) -> str:
    """A sha256 of the validated scenario (order-independent of the file's formatting)."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()
