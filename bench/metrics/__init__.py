"""Metric registry: one module per metric family in this package, each decorated class registered.

Adding a metric is one new module here: the runner, CLI and reports discover it by name.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from bench.registry import Registry
from bench.metrics.base import DerivedMetric, ItemScore, Margin, Metric, MetricContext, MetricMeta, Score

__all__ = ["Metric", "MetricContext", "MetricMeta", "DerivedMetric", "ItemScore", "Margin", "Score", "register_metric",
           "metric_class", "all_metrics", "resolve_metrics", "metric_meta", "gate_margins"]

#: the runner's own row: measured bitrate (payload bits / input seconds), first column of every table
KBPS_META = MetricMeta(name="kbps", unit="kbps", higher_is_better=False, display="kbps", rank=0,
                       gate_margin=Margin(rel=0.01))  # measured bitrate must not grow by more than 1 %

_IMPORT_ERRORS: dict[str, str] = {}
M = TypeVar("M", bound=type[Metric])


def _discover() -> None:
    """Import every metric module (and subpackage) once; modules import heavy backends lazily."""
    for mod in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        if mod.name.endswith(".base"):
            continue
        try:
            importlib.import_module(mod.name)
        except ImportError as exc:  # a metric module whose backend is absent stays unlisted
            _IMPORT_ERRORS[mod.name] = str(exc)


_METRICS: Registry[type[Metric]] = Registry("metric", discover=_discover)


def register_metric(cls: M) -> M:
    return _METRICS.add(cls.name, cls)


def all_metrics() -> dict[str, type[Metric]]:
    return dict(sorted(_METRICS.entries().items()))


def metric_class(name: str) -> type[Metric]:
    return _METRICS.get(name)


def resolve_metrics(names: list[str] | None, fields: set[str]) -> list[type[Metric]]:
    """The metrics to run: the named ones (each must exist), or every default metric that is
    available here and whose required item fields (text, speaker) the suite provides."""
    if names:
        out: list[type[Metric]] = []
        for part in names:
            for name in part.split(","):
                if name.strip():
                    cls = metric_class(name.strip())
                    if cls not in out:
                        out.append(cls)
        return out
    return [
        cls for cls in all_metrics().values()
        if cls.default and cls.requires <= fields and cls.availability() is None
    ]


def metric_meta(name: str) -> MetricMeta:
    """The metadata record for any metric name in rows: a registered metric, a set-level metric
    one of them derives (placed right after its parent), or the built-in ``kbps``. Unknown names
    (rows from a metric not installed here) get a neutral record that sorts last."""
    if name == KBPS_META.name:
        return KBPS_META
    metrics = all_metrics()
    if name in metrics:
        return metrics[name].meta()
    for parent in metrics.values():
        for i, d in enumerate(parent.derived, 1):
            if d.name == name:
                return MetricMeta(name=d.name, unit=d.unit, higher_is_better=d.higher_is_better,
                                  display=d.display or d.name, rank=parent.rank + i / 100, parent=parent.name,
                                  precision=d.precision, gate_margin=d.gate_margin)
    return MetricMeta(name=name, display=name)


def gate_margins() -> dict[str, dict[str, float]]:
    """Each metric's own gate margin (and its derived metrics'), by name: the defaults a gate
    config's ``metrics:`` entries override."""
    out = {KBPS_META.name: KBPS_META.gate_margin.as_dict()}
    for cls in all_metrics().values():
        for meta in [cls.meta(), *(metric_meta(d.name) for d in cls.derived)]:
            if meta.gate_margin is not None:
                out[meta.name] = meta.gate_margin.as_dict()
    return out
