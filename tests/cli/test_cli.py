"""End to end through the real console entry point, as a user types it."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.workers]

REPO = Path(__file__).resolve().parents[2]


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    r = bench("run", "--codec", "original,opus@6", "--codec", "codec2@3.2", "--suite", "demo",
              "--limit", "3", "--metric", "si-sdr", "--metric", "snr", "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "| opus@6" in r.stdout and "codec2@3.2" in r.stdout and "si-sdr (dB) ↑" in r.stdout
    return out


def test_run_writes_summary(run_dir):
    s = pd.read_csv(run_dir / "summary.csv")
    assert set(s["label"]) == {"original", "opus@6", "codec2@3.2"}
    assert set(s["metric"]) == {"kbps", "si-sdr", "snr"} and (s["n"] == 3).all()
    report = (run_dir / "summary.md").read_text()  # the report api.run renders over the pipeline's rows
    assert report.startswith("# codecbench report") and "| opus@6" in report and "How each metric" in report


def test_report_merges_runs(run_dir, tmp_path):
    """The plain report is the stock ``summary`` layout: the same writers as every card."""
    rep = tmp_path / "rep"
    r = bench("report", str(run_dir), "--out", str(rep))
    assert r.returncode == 0, r.stderr
    md = (rep / "card.md").read_text()
    assert md.count("|") > 10 and "suite **demo**, 3 items" in md and "layout: `summary.yaml`" in md
    assert "How each metric was computed" in md and "torchmetrics" in md and "zero_mean=True" in md
    assert "opus@6" in (rep / "index.html").read_text()
    cells = pd.read_csv(rep / "card.csv")  # one line per cell: 3 settings x (kbps, si-sdr, snr)
    assert len(cells) == 9 and set(cells["column"]) == {"kbps", "si-sdr", "snr"} and (cells["status"] == "ok").all()
    assert not (rep / "plots").exists()  # the summary layout draws no curves


def test_gate_pass_and_fail(run_dir, tmp_path):
    r = bench("gate", "--baseline", str(run_dir / "summary.csv"), "--run", str(run_dir))
    assert r.returncode == 0 and "gate: PASS" in r.stdout
    s = pd.read_csv(run_dir / "summary.csv")
    s.loc[(s.label == "opus@6") & (s.metric == "si-sdr"), "mean"] += 1.0  # baseline was better
    s.to_csv(tmp_path / "base.csv", index=False)
    r = bench("gate", "--baseline", str(tmp_path / "base.csv"), "--run", str(run_dir))
    assert r.returncode == 1 and "REGRESSION" in r.stdout
    r = bench("gate", "--baseline", str(tmp_path / "nope.csv"), "--run", str(run_dir))
    assert r.returncode == 2 and "nope.csv: not found" in r.stderr


def test_errors_are_messages_not_tracebacks():
    r = bench("run", "--codec", "mp3@20", "--suite", "demo")
    assert r.returncode == 2 and "supported: 8, 16, 24, 32, 40" in r.stderr and "Traceback" not in r.stderr
    r = bench("run", "--codec", "opus@6", "--suite", "librispeech-nope")
    assert r.returncode == 2 and "known suites" in r.stderr


@pytest.mark.parametrize("what, expect", [("codecs", "opus"), ("suites", "demo"), ("metrics", "si-sdr")])
def test_list(what, expect):
    r = bench("list", what)
    assert r.returncode == 0 and expect in r.stdout and "yes" in r.stdout


def test_every_command_goes_through_bench_api():
    """Thin commands: a CLI module imports only bench.api (and the CLI's own modules, such as its
    defaults from the environment) from the package, nothing private."""
    import ast

    cli = REPO / "bench" / "cli"
    for path in sorted([*(cli / "commands").glob("*.py"), *(cli / "listen_commands").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bench"):
                if node.module == "bench.cli" or node.module.startswith("bench.cli."):
                    continue
                if path.name == "__init__.py" and node.module == "bench.registry":
                    continue  # the package's command registry
                assert node.module in ("bench", "bench.api"), f"{path.name} imports {node.module}"
                assert node.module == "bench.api" or [a.name for a in node.names] == ["api"], path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("bench") for a in node.names), path.name


def test_baseline_create_show_and_paired_gate_with_markdown(run_dir, tmp_path):
    base = tmp_path / "b" / "demo.csv"
    r = bench("baseline", "create", str(run_dir), "--out", str(base))
    assert r.returncode == 0, r.stderr
    rows_file = base.with_name("demo.rows.csv.gz")
    assert rows_file.exists() and base.with_name("demo.manifest.json").exists()
    # a baseline is committed: no absolute path of the machine that made it (checkout, tmp, .venv)
    meta = base.with_name("demo.manifest.json").read_text()
    assert str(REPO) not in meta and str(run_dir) not in meta and '"/' not in meta
    assert '"cache_dir": "cache:demo-' in meta  # the per-user cache, named without its machine path
    first = rows_file.read_bytes()
    assert bench("baseline", "create", str(run_dir), "--out", str(base)).returncode == 2  # no silent overwrite
    assert bench("baseline", "update", str(run_dir), "--out", str(base)).returncode == 0
    assert rows_file.read_bytes() == first  # byte-reproducible: regenerating gives no diff
    r = bench("baseline", "show", str(base))
    assert r.returncode == 0 and "paired gate" in r.stdout and "git" in r.stdout and "cpu" in r.stdout
    s = pd.read_csv(base)
    assert {"ci_low", "ci_high"} <= set(s.columns)

    summary_md = tmp_path / "step_summary.md"
    r = bench("gate", "--baseline", str(base), "--run", str(run_dir), "--markdown", str(summary_md))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "paired bootstrap" in r.stdout and "## codecbench gate: PASS" in summary_md.read_text()
    # the baseline's opus@6 SI-SDR was 1 dB better on every item: a paired regression
    rows = pd.read_csv(rows_file, dtype={"item": str})
    rows.loc[(rows.label == "opus@6") & (rows.metric == "si-sdr"), "value"] += 1.0
    rows.to_csv(rows_file, index=False)
    r = bench("gate", "--baseline", str(base), "--run", str(run_dir))
    assert r.returncode == 2 and "baseline rows were edited after creation" in r.stderr  # the recorded checksum
    import json

    from bench.gate import rows_digest

    meta = json.loads(base.with_name("demo.manifest.json").read_text())
    meta["checksums"]["rows_sha256"] = rows_digest(rows_file)  # as if made from such a run
    base.with_name("demo.manifest.json").write_text(json.dumps(meta))
    r = bench("gate", "--baseline", str(base), "--run", str(run_dir), "--markdown", str(summary_md))
    assert r.returncode == 1 and "REGRESSION" in r.stdout
    assert "## codecbench gate: REGRESSION" in summary_md.read_text()


def test_ci_workflow_calls_commands_that_exist():
    import yaml

    wf = yaml.safe_load((REPO / ".github/workflows/codec-gate.yml").read_text())
    steps = " ".join(s.get("run", "") for s in wf["jobs"]["gate"]["steps"])
    assert "bench run" in steps and "--out reports/runs/ci" in steps
    assert "bench gate --baseline reports/baselines/demo.csv --run reports/runs/ci" in steps.replace("\\\n", "")
    assert '--markdown "$GITHUB_STEP_SUMMARY"' in steps
    # the baseline's settings are listed once, in the Makefile, and CI asks make for them
    assert "make -s demo-codecs" in steps and "$DEMO_CODECS" in steps and "DEMO_CODECS" not in (wf.get("env") or {})
    listed = subprocess.run(["make", "-s", "-C", str(REPO), "demo-codecs"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "opus@6" in listed.stdout and "lyra@9.2" in listed.stdout
    helptext = bench("gate", "--help").stdout
    assert "--markdown" in helptext and "--strict" in helptext


def test_report_with_a_card_layout(run_dir, tmp_path):
    out = tmp_path / "card"
    r = bench("report", str(run_dir), "--layout", "nemo-card", "--out", str(out), "--format", "md,csv,html")
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} >= {"card.md", "card.csv", "index.html", "plots"}
    assert not (out / "card.tex").exists()  # only the formats asked for
    md = (out / "card.md").read_text()
    assert "librispeech-test-clean" in md and "missing" in md and run_dir.name in md
    assert (out / "plots" / "rq-si-sdr.svg").exists()
    r = bench("report", str(run_dir), "--layout", "nemo-card", "--out", str(out), "--format", "pdf")
    assert r.returncode != 0 and "report format 'pdf'" in r.stderr
    r = bench("report", str(run_dir), "--layout", "no-such")
    assert r.returncode != 0 and "nemo-card" in r.stderr  # the error lists the shipped layouts


def test_a_new_layout_is_one_yaml_file(run_dir, tmp_path):
    """Adding a report layout for an existing table kind touches one YAML file and no code."""
    import os

    layouts = tmp_path / "config" / "codecbench" / "layouts"
    layouts.mkdir(parents=True)
    (layouts / "snr-only.yaml").write_text(
        "name: snr-only\ntitle: Just SNR\ntables:\n  - id: t\n    title: SNR table\n    kind: metrics\n"
        "    columns:\n      - {title: \"SNR (dB)\", metric: snr}\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = tmp_path / "card"
    r = subprocess.run([sys.executable, "-m", "bench", "report", str(run_dir), "--layout", "snr-only", "--out",
                        str(out), "--format", "md"], cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    md = (out / "card.md").read_text()
    assert "Just SNR" in md and "SNR table" in md and "SNR (dB)" in md and "| opus@6" in md
    assert "ViSQOL" not in md  # only what the new file asks for


def test_version_and_short_help():
    r = bench("--version")
    assert r.returncode == 0 and r.stdout.startswith("codecbench 0.1.0")
    r = bench("-h")
    assert r.returncode == 0 and "compare" in r.stdout and "-V, --version" in r.stdout


@pytest.mark.parametrize("command", ["run", "report", "score", "gate", "compare", "list", "baseline create"])
def test_help_fits_80_columns_without_cut_option_names(command):
    import os

    r = subprocess.run([sys.executable, "-m", "bench", *command.split(), "-h"], cwd=REPO, capture_output=True,
                       text=True, timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    assert max(map(len, r.stdout.splitlines())) <= 80 and "…" not in r.stdout
    if command == "run":
        assert "--allow-untrained" in r.stdout and "--max-per-speaker" in r.stdout


def test_progress_names_units_and_warm_up_and_overrides_are_reported(tmp_path):
    import json
    import os

    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "opus.yaml").write_text((REPO / "codecs" / "opus.yaml").read_text())
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "bench", "run", "-c", "opus@7", "--limit", "1", "-m", "snr",
                        "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "BENCH_CODECS": str(cards), "COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    assert "units (item × codec)" in r.stderr and "loading models…" in r.stderr and "unit/s" in r.stderr
    assert f"using BENCH_CODECS={cards}" in r.stderr
    assert f"card 'opus' from {cards / 'opus.yaml'} replaces {REPO / 'codecs' / 'opus.yaml'}" in r.stderr
    config = json.loads((out / "manifest.json").read_text())["configuration"]
    assert config["variables"]["BENCH_CODECS"] == str(cards)
    assert config["overrides"]["codecs"][0]["used"] == str(cards / "opus.yaml")
    assert "| opus@7" in r.stdout and max(len(ln) for ln in r.stdout.splitlines() if ln.startswith("|")) <= 80
