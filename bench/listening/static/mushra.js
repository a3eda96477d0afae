// MUSHRA page (ITU-R BS.1534-3) for `bench listen serve`.
//
// Playback: every stimulus of a trial is decoded into an AudioBuffer and started as its own
// AudioBufferSourceNode at the same AudioContext time, each through a GainNode; switching only moves
// the gains (5 ms ramps against clicks), so all stimuli stay on the same sample and a switch keeps
// the position. The loop region is the sources' loopStart/loopEnd. The page knows stimuli only by
// opaque token; text reaches the DOM through textContent only, never as HTML.
"use strict";

(() => {
  const FADE = 0.005;            // seconds of gain ramp on a switch
  const MIN_LOOP = 0.1;          // shortest loop region, seconds
  const RATER_KEY = "codecbench.listening.rater";
  const RATER_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

  const $ = (id) => document.getElementById(id);
  const st = {
    rater: null, session: null, idx: 0,
    ctx: null, buffers: new Map(), nodes: new Map(), loadGen: 0,
    playing: false, current: null, t0: 0, loop: { start: 0, end: 0 }, duration: 0,
    played: new Set(), peaks: null, drag: null,
  };

  function el(tag, attrs = {}, text = "") {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function errorText(data, status) {
    if (typeof data.detail === "string") return data.detail;
    if (Array.isArray(data.detail)) return data.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    return `request failed (HTTP ${status})`;
  }

  async function api(path, body) {
    const resp = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(errorText(data, resp.status));
    return data;
  }

  function show(section) {
    for (const id of ["start", "trial", "finished"]) $(id).hidden = id !== section;
  }

  // ---- session and navigation -------------------------------------------------------------

  async function startSession(rater) {
    showError("");
    st.session = await api("/api/session", { rater });
    st.rater = rater;
    try { localStorage.setItem(RATER_KEY, rater); } catch (e) { /* private mode: the URL still carries it */ }
    history.replaceState(null, "", `${location.pathname}?rater=${encodeURIComponent(rater)}`);
    $("progress-box").hidden = false;
    const next = firstOpen(0);
    if (next < 0) finish(); else showTrial(next);
  }

  function firstOpen(from) {
    const trials = st.session.trials;
    for (let k = 0; k < trials.length; k++) {
      const i = (from + k) % trials.length;
      if (!trials[i].done) return i;
    }
    return -1;
  }

  function updateProgress() {
    const s = st.session;
    const done = s.trials.filter((t) => t.done).length;
    $("progress").max = s.trials.length;
    $("progress").value = done;
    $("progress-text").textContent = $("trial").hidden
      ? `${done} of ${s.trials.length} trials saved`
      : `Trial ${st.idx + 1} of ${s.trials.length} \u00b7 ${done} saved`;
  }

  function finish() {
    stop();
    show("finished");
    updateProgress();
  }

  function showTrial(i) {
    stop();
    st.idx = i;
    const trial = st.session.trials[i];
    st.played = new Set(trial.done ? [trial.reference, ...trial.stimuli] : []);
    $("play-ref").dataset.token = trial.reference;
    const box = $("sliders");
    box.replaceChildren();
    trial.stimuli.forEach((token, j) => {
      const label = j < 26 ? String.fromCharCode(65 + j) : String(j + 1);
      const value = trial.scores[token] ?? 0;
      const col = el("div", { class: "column" });
      const slider = el("input", { type: "range", min: "0", max: "100", step: "1", value: String(value),
                                   "data-token": token, "aria-label": `score of sample ${label}` });
      const out = el("output", { "data-token": token }, String(value));
      slider.addEventListener("input", () => { out.textContent = slider.value; });
      const btn = el("button", { type: "button", class: "stim", "data-token": token, title: `play sample ${label}` }, label);
      btn.addEventListener("click", () => play(token));
      col.append(slider, out, btn);
      box.append(col);
    });
    show("trial");
    $("prev").disabled = i === 0;
    updateProgress();
    updateButtons();
    loadAudio(trial);
  }

  async function submit() {
    const trial = st.session.trials[st.idx];
    const scores = {};
    for (const s of document.querySelectorAll("#sliders input[type=range]")) scores[s.dataset.token] = Number.parseInt(s.value, 10);
    $("submit").disabled = true;
    $("status").textContent = "Saving\u2026";
    try {
      await api("/api/rating", { rater: st.rater, trial: trial.id, scores });
    } catch (e) {
      showError(`Not saved: ${e.message}`);
      updateButtons();
      return;
    }
    showError("");
    trial.done = true;
    trial.scores = scores;
    const next = firstOpen(st.idx + 1);
    if (next < 0) finish(); else showTrial(next);
  }

  // ---- audio ------------------------------------------------------------------------------

  function wavRate(buf) {
    // The sample rate in a RIFF/WAVE header: the context runs at the files' rate, so nothing is resampled.
    const v = new DataView(buf);
    if (v.byteLength < 12 || v.getUint32(0) !== 0x52494646 || v.getUint32(8) !== 0x57415645) return 0;
    for (let p = 12; p + 16 <= v.byteLength;) {
      const size = v.getUint32(p + 4, true);
      if (v.getUint32(p) === 0x666d7420) return v.getUint32(p + 12, true);
      p += 8 + size + (size & 1);
    }
    return 0;
  }

  function ensureContext(rate) {
    if (st.ctx) return st.ctx;
    try { st.ctx = rate ? new AudioContext({ sampleRate: rate }) : new AudioContext(); } catch (e) { st.ctx = new AudioContext(); }
    return st.ctx;
  }

  async function loadAudio(trial) {
    const gen = ++st.loadGen;
    st.buffers = new Map();
    st.peaks = null;
    $("status").textContent = "Loading audio\u2026";
    updateButtons();
    const tokens = [trial.reference, ...trial.stimuli];
    try {
      const raw = await Promise.all(tokens.map(async (t) => {
        const resp = await fetch(`/audio/${encodeURIComponent(t)}.wav`);
        if (!resp.ok) throw new Error(`audio ${t}: HTTP ${resp.status}`);
        return resp.arrayBuffer();
      }));
      const ctx = ensureContext(wavRate(raw[0]));
      const decoded = await Promise.all(raw.map((b) => ctx.decodeAudioData(b)));
      if (gen !== st.loadGen) return;
      tokens.forEach((t, k) => st.buffers.set(t, decoded[k]));
    } catch (e) {
      if (gen === st.loadGen) showError(`Could not load the audio: ${e.message}`);
      return;
    }
    st.duration = Math.min(...[...st.buffers.values()].map((b) => b.duration));
    st.peaks = peaks(st.buffers.get(trial.reference));
    setLoop(0, st.duration);
    updateButtons();
  }

  // The playback graph, as pure functions of a context (the browser test renders them offline).
  function connectSources(ctx, buffers, token, loop, when, offset) {
    const nodes = new Map();
    for (const [t, buffer] of buffers) {
      const src = new AudioBufferSourceNode(ctx, { buffer, loop: true, loopStart: loop.start, loopEnd: loop.end });
      const gain = new GainNode(ctx, { gain: t === token ? 1 : 0 });
      src.connect(gain).connect(ctx.destination);
      src.start(when, offset);
      nodes.set(t, { src, gain });
    }
    return nodes;
  }

  function switchGains(nodes, token, now) {
    for (const [t, { gain }] of nodes) {
      gain.gain.cancelScheduledValues(now);
      gain.gain.setValueAtTime(gain.gain.value, now);
      gain.gain.linearRampToValueAtTime(t === token ? 1 : 0, now + FADE);
    }
  }

  function play(token) {
    if (!st.buffers.has(token)) return;
    st.ctx.resume();
    if (!st.playing) startSources(token, st.loop.start);
    else if (token !== st.current) switchGains(st.nodes, token, st.ctx.currentTime);
    st.current = token;
    st.played.add(token);
    updateButtons();
  }

  function startSources(token, offset) {
    const when = st.ctx.currentTime + 0.03;
    st.nodes = connectSources(st.ctx, st.buffers, token, st.loop, when, offset);
    st.t0 = when - (offset - st.loop.start);
    st.playing = true;
    requestAnimationFrame(tick);
  }

  function stop() {
    for (const { src, gain } of st.nodes.values()) {
      try { src.stop(); } catch (e) { /* never started */ }
      src.disconnect();
      gain.disconnect();
    }
    st.nodes.clear();
    st.playing = false;
    st.current = null;
    updateButtons();
    draw();
  }

  function position() {
    if (!st.playing) return null;
    const len = st.loop.end - st.loop.start;
    const elapsed = st.ctx.currentTime - st.t0;
    return st.loop.start + (elapsed < 0 ? 0 : elapsed % len);
  }

  function setLoop(start, end) {
    const s = Math.max(0, Math.min(start, st.duration));
    const e = Math.max(0, Math.min(end, st.duration));
    if (!(e - s >= MIN_LOOP)) {
      $("status").textContent = `The loop must be at least ${MIN_LOOP} s long.`;
    } else {
      st.loop = { start: s, end: e };
      $("status").textContent = "";
    }
    $("loop-start").value = st.loop.start.toFixed(2);
    $("loop-end").value = st.loop.end.toFixed(2);
    $("loop-start").max = $("loop-end").max = st.duration.toFixed(2);
    if (st.playing) {
      const token = st.current;
      stop();
      play(token);
    }
    draw();
  }

  // ---- waveform, selection and play head -------------------------------------------------

  function peaks(buffer) {
    const canvas = $("wave");
    const width = Math.max(1, Math.round(canvas.clientWidth * (window.devicePixelRatio || 1)));
    canvas.width = width;
    canvas.height = Math.round(canvas.clientHeight * (window.devicePixelRatio || 1));
    const data = buffer.getChannelData(0);
    const per = data.length / width;
    const out = new Float32Array(width * 2);
    for (let x = 0; x < width; x++) {
      let lo = 0, hi = 0;
      for (let k = Math.floor(x * per), end = Math.min(data.length, Math.floor((x + 1) * per)); k < end; k++) {
        if (data[k] < lo) lo = data[k];
        if (data[k] > hi) hi = data[k];
      }
      out[2 * x] = lo;
      out[2 * x + 1] = hi;
    }
    return out;
  }

  function draw() {
    const canvas = $("wave");
    const g = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height;
    g.clearRect(0, 0, w, h);
    if (!st.peaks || !st.duration) return;
    const toX = (t) => (t / st.duration) * w;
    const sel = st.drag ? { start: Math.min(st.drag.a, st.drag.b), end: Math.max(st.drag.a, st.drag.b) } : st.loop;
    g.fillStyle = "rgba(37, 99, 166, 0.13)";
    g.fillRect(toX(sel.start), 0, toX(sel.end) - toX(sel.start), h);
    g.fillStyle = "#7d8a99";
    for (let x = 0; x < w; x++) {
      const lo = st.peaks[2 * x], hi = st.peaks[2 * x + 1];
      g.fillRect(x, h / 2 - hi * h / 2, 1, Math.max(1, (hi - lo) * h / 2));
    }
    const pos = position();
    if (pos !== null) {
      g.fillStyle = "#2563a6";
      g.fillRect(toX(pos) - 1, 0, 2, h);
    }
  }

  function tick() {
    draw();
    if (st.playing) requestAnimationFrame(tick);
  }

  function timeAt(event) {
    const r = $("wave").getBoundingClientRect();
    return Math.max(0, Math.min(1, (event.clientX - r.left) / r.width)) * st.duration;
  }

  // ---- controls ----------------------------------------------------------------------------

  function updateButtons() {
    const loaded = st.buffers.size > 0;
    for (const b of document.querySelectorAll("button.stim")) {
      const t = b.dataset.token;
      b.disabled = !loaded;
      b.classList.toggle("played", st.played.has(t));
      b.classList.toggle("playing", st.playing && st.current === t);
    }
    if (!st.session || $("trial").hidden) return;
    const trial = st.session.trials[st.idx];
    const left = [trial.reference, ...trial.stimuli].filter((t) => !st.played.has(t)).length;
    $("submit").disabled = !loaded || left > 0;
    if (loaded) $("status").textContent = left ? `Play every sample to continue (${left} left).` : "";
  }

  function wire() {
    $("start-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const r = $("rater-input").value.trim();
      if (RATER_RE.test(r)) startSession(r).catch((err) => showError(err.message));
      else showError("A rater id is 1\u201364 letters, digits, '_', '.' or '-'.");
    });
    $("play-ref").addEventListener("click", () => play($("play-ref").dataset.token));
    $("stop").addEventListener("click", stop);
    $("submit").addEventListener("click", submit);
    $("prev").addEventListener("click", () => { if (st.idx > 0) showTrial(st.idx - 1); });
    $("review").addEventListener("click", () => showTrial(st.session.trials.length - 1));
    $("loop-start").addEventListener("change", () => setLoop(Number.parseFloat($("loop-start").value) || 0, st.loop.end));
    $("loop-end").addEventListener("change", () => setLoop(st.loop.start, Number.parseFloat($("loop-end").value) || 0));
    $("loop-reset").addEventListener("click", () => setLoop(0, st.duration));
    const wave = $("wave");
    wave.addEventListener("pointerdown", (e) => {
      if (!st.duration) return;
      wave.setPointerCapture(e.pointerId);
      st.drag = { a: timeAt(e), b: timeAt(e) };
    });
    wave.addEventListener("pointermove", (e) => { if (st.drag) { st.drag.b = timeAt(e); draw(); } });
    wave.addEventListener("pointerup", (e) => {
      if (!st.drag) return;
      const a = st.drag.a, b = timeAt(e);
      st.drag = null;
      if (Math.abs(b - a) >= MIN_LOOP) setLoop(Math.min(a, b), Math.max(a, b)); else draw();
    });
    document.addEventListener("keydown", (e) => {
      if ($("trial").hidden || e.ctrlKey || e.metaKey || e.altKey) return;
      const tag = e.target.tagName;
      if ((tag === "INPUT" && e.target.type !== "range") || tag === "TEXTAREA") return;
      const trial = st.session.trials[st.idx];
      if (e.key === "r" || e.key === "R") play(trial.reference);
      else if (/^[1-9]$/.test(e.key) && trial.stimuli[Number(e.key) - 1]) play(trial.stimuli[Number(e.key) - 1]);
      else if (e.key === " ") { e.preventDefault(); stop(); }
    });
  }

  function init() {
    wire();
    const fromUrl = new URLSearchParams(location.search).get("rater");
    let stored = null;
    try { stored = localStorage.getItem(RATER_KEY); } catch (e) { /* ignore */ }
    const rater = fromUrl || stored;
    if (rater && RATER_RE.test(rater)) {
      startSession(rater).catch((err) => { show("start"); $("rater-input").value = rater; showError(err.message); });
    } else {
      show("start");
      if (rater) $("rater-input").value = rater;
    }
  }

  // Read-only view of the player for tests and debugging (tokens only, like everything else here).
  window.mushraState = () => ({
    playing: st.playing, current: st.current, sources: st.nodes.size, position: position(),
    loop: { ...st.loop }, duration: st.duration,
    context: st.ctx && { state: st.ctx.state, time: st.ctx.currentTime, sampleRate: st.ctx.sampleRate },
    gains: Object.fromEntries([...st.nodes].map(([t, n]) => [t, n.gain.gain.value])),
    sourceLoops: [...st.nodes.values()].map((n) => [n.src.loop, n.src.loopStart, n.src.loopEnd]),
  });

  window.mushraGraph = { connectSources, switchGains, FADE };

  document.addEventListener("DOMContentLoaded", init);
})();
