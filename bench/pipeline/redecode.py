"""Audio for a report's listening section: the saved reconstruction, or the item re-decoded.

Reporting lays out the worst items; getting their audio runs codecs, which is the pipeline's
work, so it lives here and reporting receives file paths. A reconstruction saved by the run
(``bench run --save-audio``: RUN/audio/LABEL/ITEM.wav, exactly what was scored) is written as
16-bit PCM;
otherwise, when asked, the item is re-decoded by :func:`~bench.pipeline.unit.reconstruct` with the
codec options the run's manifest records (device, weights policy, checkpoints), not those of
the process that renders the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.audio import Audio, load_audio
from bench.pipeline.rundir import audio_path
from bench.pipeline.unit import run_codec_options  # noqa: F401  (re-exported: how the run built its codecs)


def _write_wav(audio, path: Path) -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio.samples, audio.sample_rate, subtype="PCM_16")
    return path


class ListeningAudio:
    """``source(run_path, manifest, label, item_id, recon_to, original_to)`` writes the item's
    reconstruction and original as WAV files and returns ``(original, reconstruction, error)``:
    paths (None where there is none) and the reason shown instead of missing audio.

    ``redecode``: re-decode items whose run saved no audio (``bench report --listen N``).
    """

    def __init__(self, redecode: bool) -> None:
        self.redecode = redecode
        self._suites: dict[str, tuple[dict[str, Any], Any]] = {}

    def _suite_items(self, manifest: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """The run's suite items by id and its audio policy (empty when the suite is not here)."""
        from bench.suites import load_suite

        s = manifest.get("suite") or {}
        key = str(s.get("name") or s.get("source") or "")
        if key not in self._suites:
            self._suites[key] = ({}, None)
            for ref in (s.get("name"), s.get("source")):
                if not ref:
                    continue
                try:
                    suite = load_suite(ref)
                except Exception:  # noqa: BLE001 - a suite not present here: no audio, the page says so
                    continue
                self._suites[key] = ({it.id: it for it in suite.items}, suite.policy)
                break
        return self._suites[key]

    def __call__(self, run_path: Path, manifest: dict[str, Any], label: str, item_id: str, recon_to: Path,
                 original_to: Path) -> tuple[Path | None, Path | None, str]:
        from bench.pipeline.unit import reconstruct

        found, policy = self._suite_items(manifest)
        item = found.get(item_id)
        saved = audio_path(run_path, label, item_id)
        reference = estimate = None
        error = ""
        if saved.exists():
            # kept as float (what was scored); the page gets 16-bit PCM, as re-decoded items do
            import soundfile as sf

            samples, rate = sf.read(str(saved), dtype="float32")  # as kept: no input checks on a codec's output
            estimate = _write_wav(Audio(samples, rate, str(saved)), recon_to)
            if item is not None:
                reference = load_audio(item.path, policy)
        elif self.redecode and item is not None:
            try:
                # the run path's own steps, with the run's alignment and codec options
                ref_audio, est_audio = reconstruct(label, item, policy, manifest=manifest)
                estimate = _write_wav(est_audio, recon_to)
                reference = ref_audio
            except Exception as exc:  # noqa: BLE001 - one item must not sink the report
                error = f"re-decoding failed: {exc}"
        elif self.redecode:
            suite = (manifest.get("suite") or {}).get("name", "")
            error = (f"item not in suite {suite!r} as found here" if found else
                     f"suite {suite!r} is not available here") + ", so it cannot be re-decoded"
        original = None
        if estimate is not None and reference is not None:
            original = _write_wav(reference, original_to)
        return original, estimate, error
