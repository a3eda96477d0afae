"""The `original` row's signal metrics are computed once per suite, then read back bit-identical;
and every metric row records its seconds."""

import math

import pytest

from bench.metrics.signal import SISDR
from bench.metrics.stoi_metric import Stoi
from bench.pipeline import executors
from bench.pipeline.runner import run


def test_original_row_scored_once_per_suite(tmp_path, monkeypatch):
    # inline: the guard patched below must reach the code that scores (a spawned worker would not see it)
    args = dict(limit=2, jobs=1, progress=False, cache_dir=tmp_path / "cache", executor="inline")
    first = run(["original", "opus@6"], "demo", ["si-sdr", "stoi"], out=tmp_path / "a", **args)

    def must_not_run(self, **kw):
        if kw["reference"].samples is kw["estimate"].samples or (kw["reference"].samples == kw["estimate"].samples).all():
            raise AssertionError("identity pair recomputed")
        return real[type(self)](self, **kw)

    real = {SISDR: SISDR.score, Stoi: Stoi.score}
    monkeypatch.setattr(SISDR, "score", must_not_run)
    monkeypatch.setattr(Stoi, "score", must_not_run)
    # another run directory (other codec list), same suite: the original row comes from the cache
    second = run(["original", "codec2@3.2"], "demo", ["si-sdr", "stoi"], out=tmp_path / "b", **args)
    key = ["item", "metric"]
    a = first.rows[(first.rows["label"] == "original") & first.rows["metric"].isin(["si-sdr", "stoi"])].set_index(key)
    b = second.rows[(second.rows["label"] == "original") & second.rows["metric"].isin(["si-sdr", "stoi"])].set_index(key)
    assert len(a) == 4 and a["error"].isna().all()
    assert (a["value"] == b.loc[a.index, "value"]).all()  # bit-identical, not approximately
    assert len(list((tmp_path / "cache").rglob("identity/*/*.json"))) == 4
    # the codec rows were still computed (the guard above lets non-identity pairs through)
    assert second.rows[(second.rows["label"] == "codec2@3.2") & (second.rows["metric"] == "stoi")]["value"].notna().all()


@pytest.mark.workers
def test_rows_record_seconds_per_metric(tmp_path, monkeypatch):
    res = run(["opus@6"], "demo", ["si-sdr", "stoi"], out=tmp_path / "a", limit=2, jobs=1, progress=False,
              cache_dir=tmp_path / "cache")
    scored = res.rows[res.rows["metric"].isin(["si-sdr", "stoi"])]
    assert len(scored) == 4
    assert all(s >= 0 and math.isfinite(s) for s in scored["seconds"])
    assert scored.loc[scored["metric"] == "stoi", "seconds"].gt(0).all()


def test_worker_initialiser_limits_blas_to_one_thread():
    """numpy imported its BLAS pool before the initialiser ran: the limit must still apply."""
    import numpy  # noqa: F401  (BLAS pool started, as in a worker that imported bench first)
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(None):  # restore whatever the test process had afterwards
        executors.init_worker()
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
