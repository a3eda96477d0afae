"""Test-only metric that crashes or hangs on chosen items, to prove a run survives both.

Imported through the run's ``plugins`` option (``run(..., plugins=["fault_metric"])``), which
imports it in the parent and in every spawned worker, so the registry is the same everywhere.
``tests/plugins`` must be on ``sys.path`` (the test puts it there; spawned workers inherit the
parent's ``sys.path``). Which items misbehave comes from ``$CODECBENCH_FAULTS`` (a test fixture's
switch, not a product setting): ``segv=ID,hang=ID,flaky=ID``:

- ``segv``: the worker kills itself with SIGSEGV, as a crashing native library would;
- ``hang``: sleeps far longer than any test timeout;
- ``flaky``: SIGSEGV on the first attempt only (a marker file in the run directory), so the retry
  in a fresh worker succeeds.

For every other item it is a real (if trivial) metric: the mean absolute sample difference.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np

from bench.metrics import Metric, Score, register_metric
from bench.metrics._checks import check_pair

ENV = "CODECBENCH_FAULTS"


def faults() -> dict[str, str]:
    listing = os.environ.get(ENV, "")
    return {item: kind for kind, _, item in (p.partition("=") for p in listing.split(",") if p)}


@register_metric
class FaultMetric(Metric):
    name = "test-fault"
    unit = ""
    higher_is_better = False
    default = False  # never part of a default metric set

    def score(self, *, reference, estimate, item=None) -> Score:
        kind = faults().get(item.id) if item is not None else None
        if kind == "segv" or (kind == "flaky" and self._first_attempt(item.id)):
            os.kill(os.getpid(), signal.SIGSEGV)
        if kind == "hang":
            time.sleep(3600)
        check_pair(self.name, reference=reference, estimate=estimate)
        return Score(float(np.mean(np.abs(reference.samples - estimate.samples))))

    def _first_attempt(self, item_id: str) -> bool:
        marker = self.context.run_dir / f"flaky-{item_id}"
        if marker.exists():
            return False
        marker.write_text("crashed once\n")
        return True
