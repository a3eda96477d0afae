"""The contract every registered metric keeps (torchmetrics' shared-tester idea), over the registry.

No hand-kept metric list: a new metric module is checked the moment it registers. Per metric:
keyword-only ``reference=``/``estimate=``; a complete metadata record (unit, direction, rate,
column rank, title); identical input scores better than a noisy copy; a silent estimate is a
clear failure, never a number (for a set-level metric such as EER, its per-item input). On a synthetic tone (``bench.metrics.examples``), so no files.

Non-intrusive metrics (``intrusive = False``: DNSMOS, DistillMOS) judge the estimate alone, and a
MOS predictor on a synthetic tone says nothing (DistillMOS rates the noisy tone above the clean
one: neither is speech). For them "identity beats noise" is checked on a real demo clip and that
clip with the same 10 dB of white noise.

Exception, stated: metrics that score a transcript against the item's text (``requires`` has
"text": WER/CER) cannot be judged on a tone (no words either way) and rate a silent estimate
100 % (all words deleted), which is the right number, not a failure; their values are tested on
real speech in tests/metrics/downstream.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import math
import pkgutil

import pytest

import bench.metrics
from bench.audio import Audio, load_audio
from bench.metrics import MetricContext, all_metrics, metric_meta
from bench.metrics.examples import noisy, tone
from bench.metrics.measure import measure
from bench.suites import REPO_ROOT
from bench.suites.items import Item

REGISTERED = {n: c for n, c in all_metrics().items() if c.__module__.startswith("bench.metrics")}
#: metrics that cost over 1 s of CPU per second of audio (measured ``cost_rtf``: CREPE full) run as slow
SLOW = {n for n, c in REGISTERED.items() if (c.cost_rtf or 0) > 1}
#: metrics whose scores come from a neural model (pytest marker ``models``)
MODEL_BACKENDS = {"torchcrepe", "distillmos", "resemblyzer", "speechmos", "jiwer"}  # jiwer: WER/CER run Whisper
USABLE = [pytest.param(n, marks=[*([pytest.mark.slow] if n in SLOW else []),
                                 *([pytest.mark.models] if c.backend in MODEL_BACKENDS else [])])
          for n, c in REGISTERED.items() if c.availability() is None]
ITEM = Item("tone", tone().source, speaker="spk", text="hello")
SPEECH = REPO_ROOT / "data" / "speech_demo" / "LibriSpeech" / "test-other" / "1688" / "142285" / "1688-142285-0003.flac"


def speech() -> Audio:
    """A real 5 s demo clip at 16 kHz (for the non-intrusive metrics, see the module docstring)."""
    return load_audio(SPEECH)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("contract")
    return MetricContext("contract", "0" * 64, tmp / "cache", tmp / "run", items=[ITEM])


def test_registry_is_not_empty():
    assert {"si-sdr", "pesq-wb", "stoi", "visqol-speech", "wer", "eer"} <= set(REGISTERED)


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_keyword_only_call(name, ctx):
    params = inspect.signature(REGISTERED[name].score).parameters
    for arg in ("reference", "estimate", "item"):
        assert params[arg].kind is inspect.Parameter.KEYWORD_ONLY, (name, arg)
    with pytest.raises(TypeError):
        REGISTERED[name](ctx).score(tone(), tone())  # reference and estimate cannot be swapped by position


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_metadata_record_is_complete(name):
    cls, meta = REGISTERED[name], metric_meta(name)
    assert meta.name == name and isinstance(meta.unit, str) and isinstance(meta.higher_is_better, bool)
    assert meta.display and math.isfinite(meta.rank), f"{name}: declare display/rank (column in card tables)"
    assert meta.sample_rate is None or meta.sample_rate >= 8000
    assert cls.backend, f"{name}: declare the backend distribution whose version is recorded"
    if cls.availability() is None:
        assert cls.backend_version() not in ("", "missing")
    for d in meta.derived:  # derived set-level metrics resolve to their own record, after the parent
        dm = metric_meta(d.name)
        assert dm.parent == name and dm.display and meta.rank < dm.rank < meta.rank + 1
    # the facts tables and the gate need live in the record, not in reporting or gate code
    for m in [meta, *(metric_meta(d.name) for d in meta.derived)]:
        assert m.precision.format(0.123456) in {f"{0.123456:.{k}f}" for k in range(5)}, f"{m.name}: precision {m.precision!r}"
        if m.gate_margin is not None:
            margin = m.gate_margin.as_dict()
            assert margin and all(math.isfinite(v) and v >= 0 for v in margin.values()), f"{m.name}: {margin}"
    assert meta.identity_cache == cls.identity_cache
    assert meta.identity_cache is False or not cls.batch_scoring  # the identity cache serves pairs one at a time
    assert meta.derives_item_rows == (cls.derived_item_rows(_empty_rows()) is not None), name


def _empty_rows():
    import pandas as pd

    return pd.DataFrame(columns=["suite", "item", "label", "codec", "setting", "metric", "value", "weight", "error"])


def test_every_metric_the_default_gate_watches_has_its_own_margin():
    """reports/gate.yaml holds no per-metric margins: each default metric (and what it derives) brings its own."""
    from bench.gate import default_margins, load_tolerances

    tol = load_tolerances(default_margins())
    for name, cls in REGISTERED.items():
        if cls.default:
            for n in [name, *(d.name for d in cls.derived)]:
                assert n in tol["metrics"], f"{n}: no gate margin (set Metric.gate_margin)"
    assert tol["metrics"]["si-sdr"] == {"abs": 0.05} and tol["metrics"]["kbps"] == {"rel": 0.01}


@pytest.mark.parametrize("name", USABLE)
def test_identity_beats_noise_and_silence_fails_clearly(name, ctx):
    metric = REGISTERED[name](ctx)
    # a SLOW metric (CREPE full, ~12 CPU-s per audio-s) gets one second of the tone: 100 frames, 80 of
    # them voiced, are as clear an identity-vs-noise and silence case as three seconds
    ref = (tone(1.0) if name in SLOW else tone()) if metric.intrusive else speech()
    same = measure(metric, reference=ref, estimate=ref, item=ITEM).score
    worse = measure(metric, reference=ref, estimate=noisy(ref, 10), item=ITEM).score
    silent = measure(metric, reference=ref, estimate=ref.with_samples(ref.samples * 0), item=ITEM).score
    assert same.error is None and worse.error is None, (same.error, worse.error)
    if "text" in metric.requires:  # see the module docstring
        assert silent.error is None and silent.value == 100.0
        return
    # a set-level metric's per-item value is its input (EER: a cosine, higher = same voice)
    sign = 1 if metric.higher_is_better or metric.set_level else -1
    assert sign * same.value > sign * worse.value, f"{name}: identity {same.value} not better than {worse.value}"
    assert math.isnan(silent.value) and silent.error
    assert any(w in silent.error for w in ("silent", "zeros", "no speech")), silent.error


FAMILIES_WITHOUT_EXAMPLE = {
    # ASR and speaker models take seconds to load and need a suite cache: their runnable checks are
    # tests/metrics/downstream, not docstring examples.
    "bench.metrics.downstream.asr", "bench.metrics.downstream.speaker",
}


def _metric_modules():
    return sorted({c.__module__ for c in REGISTERED.values()})


@pytest.mark.parametrize("module", [*_metric_modules(), "bench.metrics.examples"])
def test_docstring_examples_run(module):
    """One runnable example per metric family, on a synthetic tone: documentation that cannot rot."""
    mod = importlib.import_module(module)
    if module in FAMILIES_WITHOUT_EXAMPLE:
        pytest.skip("documented exception (model-backed family)")
    if any(c.availability() for c in REGISTERED.values() if c.__module__ == module):
        pytest.skip(f"{module}: backend unavailable here")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module}: no example in its docstring"
    assert result.failed == 0


def test_every_metric_module_is_covered():
    found = {m.name for m in pkgutil.walk_packages(bench.metrics.__path__, "bench.metrics.")}
    assert set(_metric_modules()) <= found
