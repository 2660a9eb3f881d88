import pytest, os
from conformance.check import check_method
from conformance.registry import load_all
from conformance.runner import Runner
from conformance.servers import server_family
SPECS = load_all()

class Rec:
    def __init__(self, c, m): self._c, self._m, self.calls = c, m, []
    def __getattr__(self, n):
        real = getattr(self._c, n)
        if n != self._m: return real
        def f(*a, **k):
            self.calls.append((a, k)); return real(*a, **k)
        return f

@pytest.mark.server
def test_drawn(milvus, tmp_path):
    for m in os.environ["M"].split(","):
        recs = []
        runner = Runner(milvus, wrap_async=lambda c: recs.append(Rec(c, m)) or recs[-1])
        try:
            v = check_method(runner, SPECS[m], server_family(milvus), out_dir=tmp_path)
        finally:
            runner.close()
        print("\n", m, v.status, v.examples, [c for r in recs for c in r.calls])
