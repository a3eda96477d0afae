"""`bench list metrics` shows each metric's measured cost (``cost_rtf``) and whether it is a default
one; issue 21's metrics all carry a measured cost and stay out of the default set."""

from __future__ import annotations

from bench import api
from bench.metrics import all_metrics

NEW = ("distillmos", "dnsmos", "f0-rmse", "vuv-error", "periodicity-rmse", "f0-rmse-tiny", "vuv-error-tiny",
       "periodicity-rmse-tiny", "mcd", "lsd", "warpq")


def test_new_metrics_are_optional_and_carry_a_measured_cost():
    metrics = all_metrics()
    for name in NEW:
        cls = metrics[name]
        assert cls.default is False, name
        assert cls.cost_rtf is not None and cls.cost_rtf > 0, name
    # CREPE full is the expensive one: more than ten times tiny
    assert metrics["f0-rmse"].cost_rtf > 10 * metrics["f0-rmse-tiny"].cost_rtf


def test_listing_shows_cost_and_default():
    table = api.listing("metrics").set_index("metric")
    assert table.at["mcd", "cost_rtf"] == f"{all_metrics()['mcd'].cost_rtf:.3g}"
    assert table.at["mcd", "default"] == "no" and table.at["pesq-wb", "default"] == "yes"
    assert not {"distillmos", "warpq"} - set(table.index)
