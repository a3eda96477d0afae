"""Gate baselines: a summary CSV plus the item-level rows and the manifest of the run(s) it came from.

``NAME.csv`` (summary with CIs, readable by people and by the gate's unpaired comparison of means),
``NAME.rows.csv.gz`` (long-form item values: label, metric, item, value, weight, ... so the gate
compares each item with itself), ``NAME.manifest.json`` (how it was made: git sha, CPU, packages,
ASR compute type, date; the source runs' manifests; the sha256 of the summary and of the rows'
content, which the gate verifies so a hand-edited baseline is refused). The rows file is written
byte-reproducibly (sorted, gzip mtime 0), so regenerating an unchanged baseline gives no diff.
Only finished runs make a baseline: an interrupted one holds a partial item set.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path, PurePath
from typing import Any

import pandas as pd

from bench.errors import BenchError
from bench.gate import (ROW_COLUMNS, file_digest, item_rows, manifest_path, read_manifest_file, read_rows_file,
                        rows_digest, rows_path)
from bench.pipeline.rundir import RunDir, merged_rows
from bench.reporting.tables import summarize


def _merged_rows(run_dirs: list[Path]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    rows, manifests = merged_rows(run_dirs), []
    for d in run_dirs:
        run = RunDir(Path(d))
        try:
            manifest = run.read_manifest()
        except BenchError as exc:
            raise BenchError(f"{d}: no readable manifest.json ({exc}); a baseline must say how it was made") from exc
        if not manifest.get("finished"):
            raise BenchError(f"{d}: the run is unfinished (its manifest has no 'finished'); rerun the same "
                             "`bench run` command to complete it first")
        manifests.append({"run_dir": str(d), **manifest})
    return rows, manifests


def write(run_dirs: list[Path], out: Path, *, overwrite: bool) -> list[Path]:
    """Write NAME.csv, NAME.rows.csv.gz, NAME.manifest.json from run directories."""
    out = Path(out)
    if out.suffix != ".csv":
        raise BenchError(f"{out}: a baseline is named NAME.csv (its rows go to NAME.rows.csv.gz)")
    if out.exists() and not overwrite:
        raise BenchError(f"{out}: exists; use `bench baseline update` to replace it")
    if not out.exists() and overwrite:
        raise BenchError(f"{out}: no such baseline to update; use `bench baseline create`")
    rows, manifests = _merged_rows(run_dirs)
    summary = summarize(rows, order=list(dict.fromkeys(rows["label"])))
    items = item_rows(rows).sort_values(["label", "metric", "item"], kind="stable")[ROW_COLUMNS]
    out.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out, index=False)
    rp, mp = rows_path(out), manifest_path(out)
    items.to_csv(rp, index=False, compression={"method": "gzip", "mtime": 0})
    first = manifests[0]
    meta = {"baseline": out.name, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "from_runs": [m["run_dir"] for m in manifests], "git": first.get("git"),
            "started": first.get("started"), "environment": first.get("environment"),
            "suite": first.get("suite"), "asr": _asr(first), "runs": manifests,
            "checksums": {"summary_sha256": file_digest(out), "rows_sha256": rows_digest(rp)}}
    mp.write_text(json.dumps(_portable(meta, _run_roots(manifests)), indent=1, sort_keys=True, default=str) + "\n")
    return [out, rp, mp]


def _run_roots(manifests: list[dict[str, Any]]) -> list[str]:
    """Checkouts the runs were made in (a baseline is committed: no machine's absolute paths in it).
    The default per-suite cache lives at ``<checkout>/reports/cache/``, which names the checkout."""
    roots = []
    for m in manifests:
        cache = str(m.get("cache_dir") or "")
        if "/reports/cache/" in cache:
            roots.append(cache.split("/reports/cache/")[0])
    return list(dict.fromkeys(roots))


_EMBEDDED = re.compile(r"(?<=[\s=(])/(?!/)[^\s,;)\"']+")  # an absolute path inside a longer string


def _portable(value: Any, roots: list[str]) -> Any:
    """Every path string in a manifest relative to its checkout, or ``package:file`` for installed files;
    also paths inside longer strings ("card weights.path: /abs/...") and the program in ``command``."""
    from bench.reporting.paths import portable_path

    def one(path: str) -> str:
        for root in roots:
            if path == root or path.startswith(root + "/"):
                return portable_path(path, root)
        return portable_path(path)

    if isinstance(value, dict):
        out = {k: _portable(v, roots) for k, v in value.items()}
        cmd = out.get("command")
        if isinstance(cmd, list) and cmd and isinstance(cmd[0], str):  # .venv/bin/bench -> bench
            out["command"] = [PurePath(cmd[0]).name, *cmd[1:]]
        return out
    if isinstance(value, list):
        return [_portable(v, roots) for v in value]
    if isinstance(value, str) and value.startswith("/"):
        return one(value)
    if isinstance(value, str) and "/" in value:
        return _EMBEDDED.sub(lambda m: one(m.group(0)), value)
    return value


def _asr(manifest: dict[str, Any]) -> dict[str, Any]:
    for name in ("wer", "cer"):
        info = (manifest.get("metrics") or {}).get(name)
        if info:
            return {k: info.get(k) for k in ("asr_model", "compute_type", "cpu_kernels", "model_sha256")}
    return {}


def show(path: Path) -> dict[str, Any]:
    """What a baseline holds and where/how it was made."""
    from bench.gate import load_summary

    path = Path(path)
    summary = load_summary(path)
    rp, mp = rows_path(path), manifest_path(path)
    meta = read_manifest_file(mp)
    env = meta.get("environment") or {}
    cpu = env.get("cpu") or {}
    out: dict[str, Any] = {
        "baseline": str(path),
        "settings": list(dict.fromkeys(summary["label"])),
        "metrics": list(dict.fromkeys(summary["metric"])),
        "items": int((summary["n"] + summary["n_failed"]).max()) if len(summary) else 0,
        "item_rows": (f"{rp} ({len(read_rows_file(rp))} rows: paired gate)" if rp.exists()
                      else "none (summary only: unpaired gate)"),
        "git": (meta.get("git") or {}).get("sha") or "unknown",
        "made": meta.get("started") or "unknown",
        "cpu": f"{cpu.get('model', 'unknown')} ({', '.join(cpu.get('isa', [])) or 'ISA unknown'})",
        "python": env.get("python", "unknown"),
        "asr": meta.get("asr") or {},
        "from_runs": meta.get("from_runs", []),
        "checksum": (f"rows sha256 {meta['checksums']['rows_sha256'][:12]}" if isinstance(meta.get("checksums"), dict)
                     else "none (edits cannot be detected: regenerate with `bench baseline update`)"),
    }
    return out
