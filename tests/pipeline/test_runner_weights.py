from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.pipeline.runner import _check_same_weights


def _m(status, sha):
    return {"codecs": {"ours@6.4": {"weights": {"status": status, "sha256": sha}}}}


def test_resume_refuses_rows_made_with_other_weights():
    _check_same_weights(_m("untrained", None), _m("untrained", None), Path("run"))  # same: resume is fine
    _check_same_weights({}, _m("trained", "ab"), Path("run"))  # fresh directory
    with pytest.raises(BenchError, match="other weights.*new --out"):
        _check_same_weights(_m("untrained", None), _m("trained", "ab12"), Path("run"))
