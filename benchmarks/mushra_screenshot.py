"""Screenshot of the MUSHRA page mid-trial, for the docs (docs/img/mushra-page.png).

    python benchmarks/mushra_screenshot.py [--out docs/img/mushra-page.png]

Builds a one-trial test folder from a demo clip (reference, two low-pass anchors and two noisy
low-passed versions standing in for codecs: only the layout matters here), serves it on
127.0.0.1, plays a few stimuli in headless Chromium, sets a loop region and some sliders, and
saves the page. Needs Debian's chromium + chromium-driver.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfiltfilt

from bench.listening.testdef import AUDIO_DIR, Condition, ListeningTest, Stimulus, Trial

CLIP = Path(__file__).resolve().parents[1] / "data/speech_demo/LibriSpeech/test-other/1688/142285/1688-142285-0002.flac"


def build(folder: Path) -> None:
    x, rate = sf.read(CLIP, dtype="float32")
    rng = np.random.default_rng(0)

    def lowpass(hz: float, noise: float = 0.0) -> np.ndarray:
        y = sosfiltfilt(butter(8, hz, fs=rate, output="sos"), x).astype(np.float32)
        return y + noise * rng.standard_normal(y.size).astype(np.float32)

    versions = {"reference": x, "anchor-3.5k": lowpass(3500), "anchor-7k": lowpass(7000),
                "codec-a": lowpass(6000, 0.004), "codec-b": lowpass(4500, 0.01)}
    kinds = {"reference": "reference", "anchor-3.5k": "anchor", "anchor-7k": "anchor"}
    (folder / AUDIO_DIR).mkdir(parents=True)
    stimuli = []
    for i, (cid, y) in enumerate(versions.items()):
        sf.write(folder / AUDIO_DIR / f"k{i}.wav", y, rate, subtype="PCM_16")
        stimuli.append(Stimulus(cid, f"k{i}", f"{AUDIO_DIR}/k{i}.wav"))
    sf.write(folder / AUDIO_DIR / "ref.wav", x, rate, subtype="PCM_16")
    trials = [Trial(f"t{n}", item=CLIP.stem, suite="demo", start=0.0, seconds=len(x) / rate,
                    reference=f"{AUDIO_DIR}/ref.wav", reference_token="ref", stimuli=stimuli) for n in (1,)]
    # Three trials in the progress bar, one already rated: the other two reuse the same files.
    trials += [Trial(f"t{n}", item=CLIP.stem, suite="demo", start=0.0, seconds=len(x) / rate,
                     reference=f"{AUDIO_DIR}/ref.wav", reference_token=f"ref{n}",
                     stimuli=[Stimulus(s.condition, f"{s.token}x{n}", s.file) for s in stimuli]) for n in (2, 3)]
    ListeningTest(name="screenshot", seed=3, trials=trials,
                  conditions=[Condition(c, kinds.get(c, "codec")) for c in versions]).save(folder)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("docs/img/mushra-page.png"))
    args = ap.parse_args()
    import uvicorn
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from bench.listening.server import create_app

    folder = Path(tempfile.mkdtemp(prefix="mushra-shot-"))
    build(folder)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(folder), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
              "--window-size=1040,800", "--hide-scrollbars"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=webdriver.ChromeService(shutil.which("chromedriver")), options=opts)
    try:
        time.sleep(0.5)
        wait = WebDriverWait(d, 20)
        d.get(f"{base}/?rater=listener-07")
        stims = lambda: d.find_elements(By.CSS_SELECTOR, "button.stim")  # noqa: E731
        wait.until(lambda d: len(stims()) > 1 and all(b.is_enabled() for b in stims()))
        sliders = d.find_elements(By.CSS_SELECTOR, "#sliders input[type=range]")
        for b in stims():
            b.click()
        for s, v in zip(sliders, [100, 18, 71, 47, 33]):  # a plausible rater
            s.send_keys(Keys.HOME + Keys.ARROW_UP * v)
        d.find_element(By.ID, "submit").click()  # trial 1 saved: the page moves to trial 2
        wait.until(lambda d: d.find_element(By.ID, "progress-text").text.startswith("Trial 2"))
        wait.until(lambda d: len(stims()) > 1 and all(b.is_enabled() for b in stims()))
        for b in stims()[:4]:
            b.click()
        for s, v in zip(d.find_elements(By.CSS_SELECTOR, "#sliders input[type=range]")[:2], [94, 62]):
            s.send_keys(Keys.HOME + Keys.ARROW_UP * v)
        for field, value in (("loop-start", "0.60"), ("loop-end", "2.10")):
            d.find_element(By.ID, field).send_keys(Keys.CONTROL, "a", Keys.NULL, value, Keys.TAB)
        stims()[2].click()
        time.sleep(0.7)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(args.out))
    finally:
        d.quit()
        server.should_exit = True
        shutil.rmtree(folder, ignore_errors=True)
    img = Image.open(args.out)
    img.quantize(colors=64).save(args.out, optimize=True)
    print(f"{args.out}: {img.width}x{img.height}, {args.out.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
