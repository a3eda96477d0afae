"""The wheel works away from the checkout: stock cards, suites, demo data, layouts and gate margins
come with it as package data, caches go to the per-user cache folder, nothing lands in the
working directory but the run the user asked for.

The wheel is installed into a fresh venv made without pip; a ``.pth`` line puts this
interpreter's site-packages *after* the venv's own, so the dependencies (torch CPU, PyAV, ...)
are reused: tests run offline and must not download CUDA wheels. A plain path line does not run
the ``.pth`` files of that folder, so the editable install of this checkout stays invisible, and
the test checks that ``bench`` is imported from the new venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.workers]  # builds a wheel and runs `bench` from a fresh venv

_SKIP = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", "_data", "runs", "cache",
                               ".pytest_cache")


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    # build from a copy: an in-tree build leaves build/ behind, whose stale files would end up in the wheel
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=_SKIP)
    dist = tmp / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                        "-q", "-w", str(dist), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next(dist.glob("codecbench-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = _venv_python(venv)
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_reuse_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    cwd = tmp / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_") and k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    env.update(XDG_CACHE_HOME=str(tmp / "xdg-cache"), XDG_CONFIG_HOME=str(tmp / "xdg-config"), HF_HUB_OFFLINE="1")
    return {"wheel": wheel, "py": py, "site": site, "cwd": cwd, "env": env, "tmp": tmp}


def _bench(inst, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(inst["py"]), "-m", "bench", *args], cwd=inst["cwd"], env=inst["env"],
                          capture_output=True, text=True, timeout=timeout)


def test_wheel_carries_the_stock_files_and_no_stray_package(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("codecbench-")}
    assert tops == {"bench"}, tops  # no top-level benchmarks/ package
    for needed in ("bench/_data/datasets.yaml", "bench/_data/codecs/opus.yaml", "bench/_data/codecs/configs/ours_16khz.yaml",
                   "bench/_data/data/speech_demo/manifest.csv", "bench/_data/third_party/lyra_v2/lyragan.tflite",
                   "bench/_data/reports/gate.yaml", "bench/_data/reports/layouts/nemo-card.yaml"):
        assert needed in names, needed


def test_installed_bench_is_the_wheel_not_the_checkout(installed):
    r = subprocess.run([str(installed["py"]), "-c", "import bench, bench.resources as r; "
                        "print(bench.__file__); print(r.data_root()); print(r.cache_dir())"],
                       cwd=installed["cwd"], env=installed["env"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    module, data, cache = r.stdout.split()
    assert Path(module).is_relative_to(installed["site"]) and not Path(module).is_relative_to(REPO)
    assert Path(data) == installed["site"] / "bench" / "_data"
    assert Path(cache) == installed["tmp"] / "xdg-cache" / "codecbench"


def test_installed_lists_codecs_and_runs_the_demo_from_another_folder(installed):
    r = _bench(installed, "list", "codecs")
    assert r.returncode == 0, r.stderr
    for name in ("opus", "lyra", "codec2", "original"):
        assert name in r.stdout
    out = installed["tmp"] / "run"
    r = _bench(installed, "run", "--codec", "opus@6", "--suite", "demo", "--limit", "2", "--metric", "si-sdr",
               "--jobs", "1", "--no-progress", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    rows = pd.read_csv(out / "rows.csv")
    sdr = rows[rows["metric"] == "si-sdr"]
    assert len(sdr) == 2 and sdr["value"].notna().all() and sdr["error"].isna().all()
    # the per-suite cache is in the per-user cache folder; the working directory stays empty
    assert list(installed["cwd"].iterdir()) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert Path(manifest["cache_dir"]).is_relative_to(installed["tmp"] / "xdg-cache" / "codecbench")
    # the stock gate margins are found without --config
    r = _bench(installed, "gate", "--baseline", str(out / "summary.csv"), "--run", str(out))
    assert r.returncode == 0 and "gate: PASS" in r.stdout, r.stdout + r.stderr
