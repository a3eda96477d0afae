"""A scripted rater in real headless Chromium: plays every stimulus, rates a 2-trial test, resumes.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Skipped with a
reason where they are absent, except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

from bench.listening.store import RatingStore
from bench.listening.testdef import RATINGS_FILE
from bench.reporting.browser import chromium
from serve_helpers import make_test_folder, running_server

pytestmark = [pytest.mark.browser]

CHROMIUM = chromium()
CHROMEDRIVER = shutil.which("chromedriver")

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser test: chromium and chromium-driver are not installed "
                           "(.ci/run installs them with apt-get)")
    pytest.skip("chromium / chromedriver not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)

if os.environ.get("CI"):
    from selenium import webdriver
else:
    webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 15  # seconds any one page state may take to appear


def chrome() -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--autoplay-policy=no-user-gesture-required", "--window-size=1100,900"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=opts)


@pytest.fixture
def driver():
    d = chrome()
    try:
        yield d
    finally:
        d.quit()


def _stim_buttons(d):
    return d.find_elements(By.CSS_SELECTOR, "button.stim")


def _wait_trial_loaded(d, wait, number: int, total: int):
    wait.until(lambda d: d.find_element(By.ID, "progress-text").text.startswith(f"Trial {number} of {total}"))
    wait.until(lambda d: all(b.is_enabled() for b in _stim_buttons(d)))  # audio decoded


def _rate_trial(d, wait, values: list[int]) -> dict[str, tuple[int, int]]:
    """Play every stimulus (submit stays disabled until the last), set the sliders; token -> (score, slider index)."""
    submit = d.find_element(By.ID, "submit")
    buttons = _stim_buttons(d)
    assert len(buttons) == 1 + len(values)  # the open reference + one per condition
    for b in buttons:
        assert not submit.is_enabled(), "submit must stay disabled until every stimulus was played"
        assert "played" not in b.get_attribute("class")
        b.click()
        wait.until(lambda d, b=b: "played" in b.get_attribute("class"))
        assert "playing" in b.get_attribute("class")
    wait.until(lambda d: submit.is_enabled())
    _check_player(d, wait, current=buttons[-1].get_attribute("data-token"), n_sources=len(buttons))
    set_to = {}
    for pos, (slider, value) in enumerate(zip(d.find_elements(By.CSS_SELECTOR, "#sliders input[type=range]"), values)):
        slider.send_keys(Keys.HOME + Keys.ARROW_UP * value)  # the keyboard, as a rater could
        assert int(slider.get_attribute("value")) == value
        set_to[slider.get_attribute("data-token")] = (value, pos)
    d.find_element(By.ID, "stop").click()
    submit.click()
    return set_to


def _check_player(d, wait, *, current: str, n_sources: int) -> None:
    """Web Audio really runs: one source per stimulus, only the selected one audible, time advances,
    and a loop region set in the inputs confines the play head."""
    state = lambda: d.execute_script("return window.mushraState()")  # noqa: E731
    wait.until(lambda d: state()["context"]["state"] == "running")
    s = state()
    assert s["playing"] and s["current"] == current and s["sources"] == n_sources
    assert s["context"]["sampleRate"] == 16000  # the context runs at the files' rate: no resampling
    wait.until(lambda d: state()["gains"] == {t: float(t == current) for t in state()["gains"]})
    t0 = s["context"]["time"]
    wait.until(lambda d: state()["context"]["time"] > t0 + 0.2)
    for field, value in (("loop-start", "0.2"), ("loop-end", "0.6")):
        d.find_element(By.ID, field).send_keys(Keys.CONTROL, "a", Keys.NULL, value, Keys.TAB)  # 'change' fires on blur
    wait.until(lambda d: state()["loop"] == {"start": 0.2, "end": 0.6})
    assert state()["sourceLoops"] == [[True, 0.2, 0.6]] * n_sources  # the nodes themselves loop there
    for _ in range(5):
        s = state()
        assert s["playing"] and s["sources"] == n_sources and 0.2 - 1e-6 <= s["position"] <= 0.6 + 1e-6, s
    d.find_element(By.ID, "loop-reset").click()
    wait.until(lambda d: state()["loop"]["start"] == 0 and state()["loop"]["end"] == state()["duration"])


def test_a_rater_plays_everything_rates_two_trials_and_resumes(tmp_path, driver):
    test = make_test_folder(tmp_path, n_trials=2)
    wait = WebDriverWait(driver, WAIT)
    expected: dict[tuple[str, str], tuple[int, int]] = {}
    with running_server(tmp_path) as base:
        driver.get(f"{base}/")
        wait.until(lambda d: d.find_element(By.ID, "start").is_displayed())
        assert not driver.find_element(By.ID, "trial").is_displayed()
        assert not driver.find_element(By.ID, "progress-box").is_displayed()
        driver.find_element(By.ID, "rater-input").send_keys("browser-1")
        driver.find_element(By.CSS_SELECTOR, "#start-form button").click()

        _wait_trial_loaded(driver, wait, 1, 2)
        assert "rater=browser-1" in driver.current_url  # the id travels in the URL (and localStorage)
        first = _rate_trial(driver, wait, [80, 13, 55, 31])
        _wait_trial_loaded(driver, wait, 2, 2)
        # Reopen the page mid-session: it resumes at the first unrated trial with no form.
        driver.get(f"{base}/")
        _wait_trial_loaded(driver, wait, 2, 2)
        assert "1 saved" in driver.find_element(By.ID, "progress-text").text
        second = _rate_trial(driver, wait, [100, 0, 42, 67])
        wait.until(lambda d: d.find_element(By.ID, "finished").is_displayed())
        assert driver.find_element(By.ID, "progress").get_attribute("value") == "2"

        # Going back shows the saved scores of the last trial.
        driver.find_element(By.ID, "review").click()
        _wait_trial_loaded(driver, wait, 2, 2)
        restored = {s.get_attribute("data-token"): int(s.get_attribute("value"))
                    for s in driver.find_elements(By.CSS_SELECTOR, "#sliders input[type=range]")}
        assert restored == {tok: v for tok, (v, _) in second.items()}
        assert driver.find_element(By.ID, "submit").is_enabled()  # a saved trial counts as played
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors

    for scores in (first, second):
        for token, value in scores.items():
            trial = next(t for t in test.trials if token in {s.token for s in t.stimuli})
            expected[(trial.id, trial.stimulus(token).condition)] = value
    rows = RatingStore(tmp_path / RATINGS_FILE).ratings()
    got = {(r.trial, r.condition): (r.score, r.position) for r in rows.itertuples()}
    assert set(rows["rater"]) == {"browser-1"}
    assert got == expected and len(rows) == 8  # scores, and the slider each condition had on the page

    # `bench listen results` reads back exactly these ratings (its API; the command prints the same).
    from bench import api

    rep = api.listen_results(tmp_path, screening="none", agreement=False)
    read = rep.results.ratings
    assert {(r.trial, r.condition): r.score for r in read.itertuples()} == {k: v for k, (v, _) in expected.items()}
    assert set(read["rater"]) == {"browser-1"} and len(read) == 8
    for c in rep.results.conditions.itertuples():
        mine = [v for (_, cond), (v, _) in expected.items() if cond == c.condition]
        assert c.n_ratings == 2 and c.mean_of_ratings == sum(mine) / 2


OFFLINE_RENDER = """
const done = arguments[arguments.length - 1];
(async () => {
  const { connectSources, switchGains, FADE } = window.mushraGraph;
  const rate = 16000, n = rate, sw = 63 * 128;  // switch on a render-quantum boundary (suspend needs one)
  const mk = (f) => {
    const b = new AudioBuffer({ length: n, sampleRate: rate, numberOfChannels: 1 });
    const d = b.getChannelData(0);
    for (let i = 0; i < n; i++) d[i] = f(i);
    return b;
  };
  // Two signals that differ at every sample, so an offset of even one sample shows.
  const A = mk((i) => ((i * 7919) % 1000) / 1000 - 0.5), B = mk((i) => ((i * 104729) % 997) / 997 - 0.5);
  const a = A.getChannelData(0), b = B.getChannelData(0);
  const fade = Math.round(FADE * rate);

  let ctx = new OfflineAudioContext(1, n, rate);
  const nodes = connectSources(ctx, new Map([["a", A], ["b", B]]), "a", { start: 0, end: 1 }, 0, 0);
  ctx.suspend(sw / rate).then(() => { switchGains(nodes, "b", sw / rate); ctx.resume(); });
  let out = (await ctx.startRendering()).getChannelData(0);
  let before = 0, after = 0, ramp = 0;
  for (let i = 0; i < sw; i++) before = Math.max(before, Math.abs(out[i] - a[i]));
  for (let i = sw + fade; i < n; i++) after = Math.max(after, Math.abs(out[i] - b[i]));
  for (let i = sw; i < sw + fade; i++) {  // the ramp mixes the same sample index of both
    const lo = Math.min(a[i], b[i]) - 1e-6, hi = Math.max(a[i], b[i]) + 1e-6;
    if (out[i] < lo || out[i] > hi) ramp = Math.max(ramp, Math.min(Math.abs(out[i] - lo), Math.abs(out[i] - hi)));
  }

  // A loop region 0.25-0.5 s started at its start: the output is that region repeated, sample for sample.
  ctx = new OfflineAudioContext(1, n, rate);
  connectSources(ctx, new Map([["a", A]]), "a", { start: 0.25, end: 0.5 }, 0, 0.25);
  out = (await ctx.startRendering()).getChannelData(0);
  let loop = 0;
  for (let i = 0; i < n; i++) loop = Math.max(loop, Math.abs(out[i] - a[4000 + (i % 4000)]));
  done({ before, after, ramp, loop, fade });
})().catch((e) => done({ error: String(e) }));
"""


def test_switching_is_sample_accurate_and_the_loop_is_exact(tmp_path, driver):
    """The page's own graph functions rendered offline: before a switch the output is stimulus A,
    after the 5 ms ramp it is stimulus B at the same sample index, and a loop repeats its region."""
    make_test_folder(tmp_path, n_trials=1)
    with running_server(tmp_path) as base:
        driver.get(f"{base}/")
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script("return !!window.mushraGraph"))
        driver.set_script_timeout(WAIT)
        res = driver.execute_async_script(OFFLINE_RENDER)
    assert "error" not in res, res
    assert res["fade"] == 80
    assert res["before"] < 1e-6 and res["after"] < 1e-6 and res["ramp"] < 1e-6 and res["loop"] < 1e-6, res
