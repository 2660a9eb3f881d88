import json, os
import pytest
from hypothesis import given, settings, strategies as st
from conformance import arguments, known
from conformance.check import check_method
from conformance.registry import load_all, MethodSpec
import dataclasses

SPECS = load_all()
from hypothesis import settings as _s, Phase
from conformance.profiles import register, SUPPRESS
register()
_s.register_profile("explore", derandomize=False, database=None, deadline=None, suppress_health_check=SUPPRESS, phases=[Phase.explicit, Phase.generate])
_s.load_profile("explore")
METHODS = os.environ.get("EXPLORE", "").split(",") if os.environ.get("EXPLORE") else sorted(SPECS, reverse=bool(os.environ.get("REVERSE")))

@pytest.mark.server
def test_explore(runner, server_family, tmp_path):
    out = {}
    for m in METHODS:
        spec = SPECS[m]
        if spec.unsupported_reason(server_family):
            continue
        only = dataclasses.replace(spec, args=lambda s=spec: arguments.call_strategy(s))
        v = check_method(runner, only, server_family, out_dir=tmp_path, entries=None, max_examples=int(os.environ.get("N", "8")))
        line = f"{m}: {v.status} ex={v.examples} new={v.new} known={v.known} {v.detail[:300]}"
        print(line, flush=True); open("/tmp/args/explore.lines","a").write(line+"\n")
        if v.status != "pass":
            out[m] = {"status": v.status, "detail": v.detail, "sigs": v.signatures, "extra": str(v.extra)[:1500], "repro": v.reproducer}
    open("/tmp/args/explore.json", "w").write(json.dumps(out, indent=1, default=str))
