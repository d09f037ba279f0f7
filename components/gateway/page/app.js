// The Vox page's behaviour: record or choose audio and transcribe it as the API streams the
// transcript, synthesize text and play it as it arrives, and the round trip between the two.
// Only this gateway's API is used; the API key, if any, is kept in localStorage.

const $ = (id) => document.getElementById(id);

const KEY_STORAGE = "vox.apiKey";
// The gateway's upload limit (docs/api.md); 16 kHz 16-bit WAV is 32 000 bytes a second.
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
const WAV_RATE = 16000;
const MAX_RECORD_SECONDS = Math.floor((MAX_UPLOAD_BYTES - 44) / (WAV_RATE * 2));
// How far ahead of "now" the first streamed buffer is scheduled, so it starts cleanly.
const PLAY_LEAD_SECONDS = 0.05;
// Streamed PCM is gathered into buffers of at least this many samples before scheduling.
const MIN_BUFFER_SAMPLES = 2048;

// ---------------------------------------------------------------- the API

function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

/// An API error: the server's own message and code.
class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/// fetch() against the gateway with the key; a non-2xx answer becomes an ApiError carrying the
/// API's message (native `{"error":{"code","message"}}` or OpenAI's shape, both have both).
async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = apiKey();
  if (key) headers.set("authorization", `Bearer ${key}`);
  let resp;
  try {
    resp = await fetch(path, { ...options, headers });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(`Could not reach Vox (${e.message}).`, "network", 0);
  }
  if (!resp.ok) throw await errorOf(resp);
  return resp;
}

async function errorOf(resp) {
  const text = await resp.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (body && body.error && body.error.message) {
      return new ApiError(body.error.message, body.error.code, resp.status);
    }
  } catch (_) {
    // Not JSON: fall through to the status line.
  }
  return new ApiError(`${resp.status} ${resp.statusText || "error"}${text ? `: ${text.slice(0, 200)}` : ""}`, "http", resp.status);
}

/// Server-sent events from a streamed response body, as they arrive: {event, data}.
async function* sseEvents(resp) {
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? "" : line.slice(colon + 1);
        if (v.startsWith(" ")) v = v.slice(1);
        if (field === "event") event = v;
        else if (field === "data") data.push(v);
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (_) {
    return null;
  }
}

function messageOf(e) {
  if (!(e instanceof ApiError)) return `Something went wrong: ${e.message || e}`;
  // An answer that carried no message still says what failed.
  return e.message || `The request failed (${e.code || "error"}${e.status ? `, HTTP ${e.status}` : ""}).`;
}

// ---------------------------------------------------------------- audio output

let audioContext = null;
let workletLoaded = false;

/// The page's one AudioContext, created and resumed inside a user gesture's handler.
function audio() {
  if (!audioContext) audioContext = new AudioContext();
  if (audioContext.state === "suspended") audioContext.resume();
  return audioContext;
}

/// Plays 16-bit little-endian mono PCM as it streams in: each piece is scheduled right after
/// the previous one, so playback starts with the first piece and runs gap-free. Exposes what
/// it did on `report` (an element's dataset): samples received and played, peak level.
class PcmPlayer {
  constructor(meter, report) {
    this.meter = meter;
    this.report = report;
    this.sources = [];
    this.timer = null;
  }

  start(sampleRate) {
    this.stop();
    const ctx = audio();
    this.ctx = ctx;
    this.rate = sampleRate;
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.analyser.connect(ctx.destination);
    this.levels = new Float32Array(this.analyser.fftSize);
    this.scheduled = [];
    this.pending = [];
    this.pendingSamples = 0;
    this.carry = null;
    this.nextTime = 0;
    this.received = 0;
    this.peak = 0;
    this.ended = false;
    this.reset();
    this.timer = setInterval(() => this.tick(), 50);
  }

  /// Zeroes what the page reports about the last playback.
  reset() {
    this.report.dataset.received = "0";
    this.report.dataset.played = "0";
    this.report.dataset.peak = "0";
    this.report.dataset.playedAtEnd = "";
  }

  /// Adds bytes of s16le PCM; an odd trailing byte waits for the next piece.
  push(bytes) {
    if (this.carry !== null) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = this.carry;
      joined.set(bytes, 1);
      bytes = joined;
      this.carry = null;
    }
    if (bytes.length % 2) {
      this.carry = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const n = bytes.length / 2;
    if (!n) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const samples = new Float32Array(n);
    for (let i = 0; i < n; i++) samples[i] = view.getInt16(2 * i, true) / 32768;
    this.received += n;
    this.report.dataset.received = String(this.received);
    this.pending.push(samples);
    this.pendingSamples += n;
    // The first piece plays at once; later ones are gathered into fewer, longer buffers.
    if (this.scheduled.length === 0 || this.pendingSamples >= MIN_BUFFER_SAMPLES) this.flush();
  }

  flush() {
    if (!this.pendingSamples) return;
    const buffer = this.ctx.createBuffer(1, this.pendingSamples, this.rate);
    const channel = buffer.getChannelData(0);
    let at = 0;
    for (const piece of this.pending) {
      channel.set(piece, at);
      at += piece.length;
    }
    this.pending = [];
    this.pendingSamples = 0;
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.analyser);
    const when = Math.max(this.nextTime, this.ctx.currentTime + PLAY_LEAD_SECONDS);
    source.start(when);
    this.nextTime = when + buffer.duration;
    this.sources.push(source);
    this.scheduled.push({ when, frames: buffer.length });
  }

  /// The stream ended: play what is left and note how much had played by then.
  finish() {
    this.flush();
    this.ended = true;
    this.report.dataset.playedAtEnd = String(this.played());
  }

  played() {
    if (!this.ctx) return 0;
    const now = this.ctx.currentTime;
    let total = 0;
    for (const s of this.scheduled) {
      total += Math.max(0, Math.min(s.frames, Math.floor((now - s.when) * this.rate)));
    }
    return total;
  }

  /// Seconds until everything scheduled has played.
  remaining() {
    return this.ctx ? Math.max(0, this.nextTime - this.ctx.currentTime) : 0;
  }

  tick() {
    if (!this.analyser) return;
    this.analyser.getFloatTimeDomainData(this.levels);
    let sum = 0;
    for (const v of this.levels) sum += v * v;
    const rms = Math.sqrt(sum / this.levels.length);
    this.peak = Math.max(this.peak, rms);
    this.report.dataset.played = String(this.played());
    this.report.dataset.peak = this.peak.toFixed(4);
    this.meter.firstElementChild.style.width = `${Math.min(100, rms * 400)}%`;
    if (this.ended && this.remaining() === 0) {
      clearInterval(this.timer);
      this.timer = null;
      this.meter.firstElementChild.style.width = "0";
    }
  }

  stop() {
    for (const s of this.sources) {
      try {
        s.stop();
      } catch (_) {
        // Not started yet or already stopped.
      }
    }
    this.sources = [];
    this.nextTime = 0;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.meter) this.meter.firstElementChild.style.width = "0";
  }
}

// ---------------------------------------------------------------- audio input

/// Records the microphone through an AudioWorklet and hands back a 16 kHz 16-bit mono WAV,
/// which every Vox version decodes. (The browser's MediaRecorder formats, WebM/Opus and
/// MP4/AAC, are not among the formats the API takes yet.)
/// Recording formats the server decodes, in the order the page prefers them.
const RECORDED_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"];

/// A file name for a recording, by its type, so the server's format hint matches.
function recordingName(blob) {
  const type = blob.type || "";
  if (type.startsWith("audio/webm")) return "recording.webm";
  if (type.startsWith("audio/ogg")) return "recording.ogg";
  if (type.startsWith("audio/mp4")) return "recording.m4a";
  return "recording.wav";
}

class Recorder {
  constructor(meter, clock, report) {
    this.meter = meter;
    this.clock = clock;
    this.report = report;
    this.active = false;
  }

  async start(onLimit) {
    const ctx = audio();
    if (!workletLoaded) {
      await ctx.audioWorklet.addModule("/page/capture-worklet.js");
      workletLoaded = true;
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    this.rate = ctx.sampleRate;
    this.chunks = [];
    this.frames = 0;
    this.source = ctx.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(ctx, "vox-capture", { numberOfOutputs: 1, outputChannelCount: [1] });
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.levels = new Float32Array(this.analyser.fftSize);
    // The worklet is pulled only while connected to the output; a silent gain keeps it so.
    this.mute = ctx.createGain();
    this.mute.gain.value = 0;
    this.source.connect(this.node);
    this.source.connect(this.analyser);
    this.node.connect(this.mute).connect(ctx.destination);
    this.node.port.onmessage = (e) => {
      this.chunks.push(e.data);
      this.frames += e.data.length;
    };
    // What the browser records (WebM/Opus in Chrome and Firefox, MP4/AAC in Safari) is what
    // gets sent; the captured samples above drive the meter, and become a WAV only where
    // MediaRecorder records none of the formats Vox decodes.
    const type = RECORDED_TYPES.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t));
    this.recorded = [];
    this.media = type ? new MediaRecorder(this.stream, { mimeType: type }) : null;
    if (this.media) {
      this.media.ondataavailable = (e) => {
        if (e.data.size) this.recorded.push(e.data);
      };
      this.media.start(250);
    }
    this.active = true;
    this.report.dataset.recording = "true";
    this.timer = setInterval(() => {
      const seconds = this.frames / this.rate;
      this.report.dataset.recordedSeconds = seconds.toFixed(2);
      this.clock.textContent = `${seconds.toFixed(1)} s`;
      this.analyser.getFloatTimeDomainData(this.levels);
      let sum = 0;
      for (const v of this.levels) sum += v * v;
      this.meter.firstElementChild.style.width = `${Math.min(100, Math.sqrt(sum / this.levels.length) * 400)}%`;
      if (seconds >= MAX_RECORD_SECONDS) onLimit();
    }, 100);
  }

  /// Stops and returns the recording: what MediaRecorder made, else a WAV built here.
  async stop() {
    this.active = false;
    let recorded = null;
    if (this.media) {
      const ended = new Promise((resolve) => (this.media.onstop = resolve));
      this.media.stop();
      await ended;
      recorded = new Blob(this.recorded, { type: this.media.mimeType });
      this.recorded = [];
    }
    clearInterval(this.timer);
    this.report.dataset.recording = "false";
    this.meter.firstElementChild.style.width = "0";
    this.node.port.onmessage = null;
    this.source.disconnect();
    this.node.disconnect();
    this.mute.disconnect();
    for (const track of this.stream.getTracks()) track.stop();
    const samples = new Float32Array(this.frames);
    let at = 0;
    for (const c of this.chunks) {
      samples.set(c, at);
      at += c.length;
    }
    this.chunks = [];
    const out = recorded || wavBlob(await resample(samples, this.rate, WAV_RATE), WAV_RATE);
    this.report.dataset.recordedType = out.type;
    return out;
  }
}

/// Resamples mono audio with the browser's own resampler (an OfflineAudioContext).
async function resample(samples, from, to) {
  if (from === to || samples.length === 0) return samples;
  const length = Math.max(1, Math.round((samples.length * to) / from));
  const offline = new OfflineAudioContext(1, length, to);
  const buffer = offline.createBuffer(1, samples.length, from);
  buffer.copyToChannel(samples, 0);
  const source = offline.createBufferSource();
  source.buffer = buffer;
  source.connect(offline.destination);
  source.start();
  return (await offline.startRendering()).getChannelData(0);
}

/// A 16-bit PCM mono WAV file.
function wavBlob(samples, rate) {
  const data = samples.length * 2;
  const out = new DataView(new ArrayBuffer(44 + data));
  const text = (at, s) => [...s].forEach((c, i) => out.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF");
  out.setUint32(4, 36 + data, true);
  text(8, "WAVE");
  text(12, "fmt ");
  out.setUint32(16, 16, true);
  out.setUint16(20, 1, true); // PCM
  out.setUint16(22, 1, true); // mono
  out.setUint32(24, rate, true);
  out.setUint32(28, rate * 2, true);
  out.setUint16(32, 2, true);
  out.setUint16(34, 16, true);
  text(36, "data");
  out.setUint32(40, data, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    out.setInt16(44 + 2 * i, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([out.buffer], { type: "audio/wav" });
}

function base64Bytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds - 60 * m;
  return `${m}:${s.toFixed(1).padStart(4, "0")}`;
}

// ---------------------------------------------------------------- lists and the key

const lists = { voices: [], defaultVoice: null };

async function loadLists() {
  const status = $("lists-status");
  status.textContent = "Loading models and voices…";
  const [models, voices] = await Promise.allSettled([
    api("/api/models").then((r) => r.json()),
    api("/api/voices").then((r) => r.json()),
  ]);
  const problems = [];
  if (models.status === "fulfilled") fillModels(models.value);
  else problems.push(["models", messageOf(models.reason)]);
  if (voices.status === "fulfilled") fillVoices(voices.value);
  else problems.push(["voices", messageOf(voices.reason)]);
  if (problems.length) {
    const same = problems.every(([, m]) => m === problems[0][1]);
    status.textContent = same
      ? `Could not load the ${problems.map(([what]) => what).join(" and ")}: ${problems[0][1]}`
      : `Could not load ${problems.map(([what, m]) => `the ${what}: ${m}`).join("; ")}`;
    status.classList.add("error");
    const unauthorized = [models, voices].some((r) => r.status === "rejected" && r.reason.status === 401);
    if (unauthorized) {
      $("settings").open = true;
      $("api-key").focus();
    }
  } else {
    status.classList.remove("error");
    status.textContent = `${lists.voices.length} voice(s), ${$("model").options.length} model(s) installed.`;
  }
}

function option(value, label, selected) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  o.selected = selected;
  return o;
}

function fillModels(list) {
  const select = $("model");
  select.replaceChildren(
    ...(list.models || []).map((m) =>
      option(m.id, `${m.id}${m.multilingual ? " (multilingual)" : " (English)"}${m.id === list.default ? " · default" : ""}`, m.id === list.default)
    )
  );
}

function fillVoices(list) {
  lists.voices = list.voices || [];
  lists.defaultVoice = list.default;
  const select = $("voice");
  select.replaceChildren(
    ...lists.voices.map((v) =>
      option(v.id, `${v.id}${v.language ? ` (${v.language})` : ""}${v.id === list.default ? " · default" : ""}`, v.id === list.default)
    )
  );
  fillSpeakers();
}

function fillSpeakers() {
  const voice = lists.voices.find((v) => v.id === $("voice").value);
  const speakers = (voice && voice.speakers) || [];
  const many = speakers.length > 1;
  $("speaker").hidden = !many;
  $("speaker-label").hidden = !many;
  $("speaker").replaceChildren(
    ...speakers.map((s, i) => {
      const name = typeof s === "string" ? s : s.name || s.id || String(i);
      return option(String(i), name, i === 0);
    })
  );
}

/// The synthesis choices, as the query of /api/tts and /api/e2e take them.
function voiceChoices() {
  const out = { speed: Number($("speed").value) };
  if ($("voice").value) out.voice = $("voice").value;
  if (!$("speaker").hidden && $("speaker").value) out.speaker = Number($("speaker").value);
  return out;
}

// ---------------------------------------------------------------- transcribe

const transcribe = {
  section: $("transcribe"),
  status: $("transcribe-status"),
  error: $("transcribe-error"),
  recorder: new Recorder($("rec-meter"), $("rec-time"), $("transcribe")),
  controller: null,
  audio: null, // {blob, name}: the last audio transcribed, for the round trip
};

function setState(section, state) {
  section.dataset.state = state;
}

async function transcribeAudio(blob, name) {
  if (transcribe.controller) transcribe.controller.abort();
  const controller = new AbortController();
  transcribe.controller = controller;
  transcribe.audio = { blob, name };
  $("rt-last").disabled = false;
  const player = $("source-audio");
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(blob);
  transcribe.error.textContent = "";
  $("transcript").textContent = "";
  $("segments").replaceChildren();
  setState(transcribe.section, "transcribing");
  transcribe.status.textContent = `Transcribing ${name}…`;
  const model = $("model").value;
  try {
    // The streamed transcript: text arrives as `transcript.text.delta` events while the
    // audio is decoded, then `transcript.text.done` with the whole text.
    const form = new FormData();
    form.append("file", blob, name);
    if (model) form.append("model", model);
    form.append("stream", "true");
    // /v1 filters with VAD by default; the page's word timestamps come from /api/asr, which
    // does not, and both passes must hear the same audio to agree.
    form.append("vad_filter", "false");
    const resp = await api("/v1/audio/transcriptions", { method: "POST", body: form, signal: controller.signal });
    let text = "";
    for await (const { data } of sseEvents(resp)) {
      const event = parseJson(data);
      if (!event) continue;
      if (event.type === "transcript.text.delta") {
        text += text && !/\s$/.test(text) && !/^\s/.test(event.delta) ? ` ${event.delta}` : event.delta;
        $("transcript").textContent = text;
      } else if (event.type === "transcript.text.done") {
        text = event.text;
        $("transcript").textContent = text;
      } else if (event.error) {
        throw new ApiError(event.error.message, event.error.code, 0);
      }
    }
    transcribe.section.dataset.text = text;
    if (!text.trim()) {
      transcribe.status.textContent = "No speech was recognized.";
      setState(transcribe.section, "done");
      return;
    }
    if ($("word-times").checked) {
      transcribe.status.textContent = "Adding segment and word timestamps…";
      const query = new URLSearchParams({ word_timestamps: "true" });
      if (model) query.set("model", model);
      const asr = await api(`/api/asr?${query}`, { method: "POST", body: blob, signal: controller.signal });
      const result = await asr.json();
      showSegments(result.segments || []);
      transcribe.status.textContent = `${clock(result.duration || 0)} of audio, ${(result.segments || []).length} segment(s)${result.language ? `, language ${result.language}` : ""}. Choose a word to play from it.`;
    } else {
      transcribe.status.textContent = "Done.";
    }
    setState(transcribe.section, "done");
  } catch (e) {
    if (e.name === "AbortError") return;
    transcribe.error.textContent = messageOf(e);
    transcribe.status.textContent = "";
    setState(transcribe.section, "error");
  } finally {
    if (transcribe.controller === controller) transcribe.controller = null;
  }
}

function showSegments(segments) {
  const list = $("segments");
  list.replaceChildren(
    ...segments.map((seg) => {
      const li = document.createElement("li");
      const time = document.createElement("button");
      time.type = "button";
      time.className = "time";
      time.dataset.start = seg.start;
      time.textContent = `${clock(seg.start)}–${clock(seg.end)}`;
      time.setAttribute("aria-label", `Play from ${clock(seg.start)}`);
      const words = document.createElement("span");
      words.className = "words";
      if (seg.words && seg.words.length) {
        for (const w of seg.words) {
          const b = document.createElement("button");
          b.type = "button";
          b.className = "word";
          b.tabIndex = -1; // reached with the arrow keys from the segment's time
          b.dataset.start = w.start;
          b.dataset.end = w.end;
          b.title = `${clock(w.start)}–${clock(w.end)}`;
          b.textContent = w.word.trim();
          words.append(b, " ");
        }
      } else {
        words.textContent = seg.text.trim();
      }
      li.append(time, words);
      return li;
    })
  );
}

function playFrom(seconds) {
  const player = $("source-audio");
  player.currentTime = seconds;
  player.play().catch(() => {});
}

$("segments").addEventListener("click", (e) => {
  const target = e.target.closest("button[data-start]");
  if (target) playFrom(Number(target.dataset.start));
});

// Arrow keys move between the timestamps and words of the transcript.
$("segments").addEventListener("keydown", (e) => {
  if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
  const all = [...$("segments").querySelectorAll("button")];
  const at = all.indexOf(document.activeElement);
  if (at < 0) return;
  const next = all[at + (e.key === "ArrowRight" ? 1 : -1)];
  if (next) {
    next.focus();
    e.preventDefault();
  }
});

// The word being heard is highlighted.
$("source-audio").addEventListener("timeupdate", () => {
  const t = $("source-audio").currentTime;
  for (const w of $("segments").querySelectorAll(".word")) {
    w.classList.toggle("now", t >= Number(w.dataset.start) && t < Number(w.dataset.end));
  }
});

$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file) transcribeAudio(file, file.name);
});

const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) transcribeAudio(file, file.name);
});

/// A Record button that toggles recording; `done` receives the recording.
function recordButton(button, recorder, errorBox, done) {
  const stop = async () => {
    if (!recorder.active) return;
    button.setAttribute("aria-pressed", "false");
    button.textContent = "Record";
    const wav = await recorder.stop();
    done(wav);
  };
  button.addEventListener("click", async () => {
    if (recorder.active) return stop();
    errorBox.textContent = "";
    try {
      await recorder.start(stop);
      button.setAttribute("aria-pressed", "true");
      button.textContent = "Stop";
    } catch (e) {
      errorBox.textContent = `The microphone could not be opened: ${e.message}`;
    }
  });
}

recordButton($("record"), transcribe.recorder, transcribe.error, (blob) => transcribeAudio(blob, recordingName(blob)));

// ---------------------------------------------------------------- speak and round trip

const player = new PcmPlayer($("play-meter"), $("speak"));
let synthesis = null; // the AbortController of the request playing now

const STOP_BUTTONS = ["speak-stop", "rt-stop"];

function stopSpeaking() {
  if (synthesis) synthesis.abort();
  synthesis = null;
  player.stop();
  for (const id of STOP_BUTTONS) $(id).disabled = true;
}

/// Runs one request whose audio plays through `player`, stopping the one before; `run(signal)`
/// streams it and returns what to say when the audio has finished playing. Errors are shown
/// as the API's message in the section's error box; `stop` is the section's Stop button.
async function playback(section, status, errorBox, stop, run) {
  stopSpeaking();
  player.reset();
  audio(); // created while the click still counts as the user's gesture
  const controller = new AbortController();
  synthesis = controller;
  stop.disabled = false;
  errorBox.textContent = "";
  try {
    const outcome = await run(controller.signal);
    while (player.remaining() > 0 && !controller.signal.aborted) {
      await new Promise((r) => setTimeout(r, 100));
    }
    player.tick(); // the counts are final before the section says "done"
    if (!controller.signal.aborted) {
      setState(section, "done");
      status.textContent = outcome;
    }
  } catch (e) {
    if (e.name === "AbortError") {
      status.textContent = "Stopped.";
      setState(section, "idle");
      return;
    }
    errorBox.textContent = messageOf(e);
    status.textContent = "";
    setState(section, "error");
  } finally {
    if (synthesis === controller) {
      synthesis = null;
      stop.disabled = true;
    }
  }
}

/// /api/tts as raw PCM, played as the body arrives.
function speak() {
  const text = $("speak-text").value.trim();
  const section = $("speak");
  const status = $("speak-status");
  if (!text) {
    $("speak-error").textContent = "Type something to say first.";
    $("speak-text").focus();
    return;
  }
  return playback(section, status, $("speak-error"), $("speak-stop"), async (signal) => {
    setState(section, "synthesizing");
    status.textContent = "Synthesizing…";
    const resp = await api("/api/tts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text, format: "pcm", ...voiceChoices() }),
      signal,
    });
    const rate = Number(resp.headers.get("x-sample-rate")) || 22050;
    player.start(rate);
    const reader = resp.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      player.push(value);
      if (section.dataset.state !== "playing") {
        setState(section, "playing");
        status.textContent = "Playing while the rest is synthesized…";
      }
    }
    player.finish();
    status.textContent = `Playing ${(player.received / rate).toFixed(1)} s of speech.`;
    return `Spoke ${(player.received / rate).toFixed(1)} s of speech.`;
  });
}

$("speak-go").addEventListener("click", speak);
for (const id of STOP_BUTTONS) $(id).addEventListener("click", stopSpeaking);
$("speak-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) speak();
});
$("speed").addEventListener("input", () => {
  $("speed-value").textContent = `${Number($("speed").value).toFixed(2)}×`;
});
$("voice").addEventListener("change", fillSpeakers);

/// /api/e2e as events: the transcript, then the spoken transcript's audio as it is made.
function roundTrip(blob, name) {
  const section = $("roundtrip");
  const status = $("rt-status");
  const shown = $("rt-transcript");
  shown.textContent = "";
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(voiceChoices())) query.set(k, v);
  if ($("model").value) query.set("model", $("model").value);
  return playback(section, status, $("rt-error"), $("rt-stop"), async (signal) => {
    setState(section, "transcribing");
    status.textContent = `Transcribing ${name}…`;
    const resp = await api(`/api/e2e?${query}`, {
      method: "POST",
      headers: { accept: "text/event-stream" },
      body: blob,
      signal,
    });
    let text = "";
    let rate = 0;
    for await (const { event, data } of sseEvents(resp)) {
      const body = parseJson(data);
      if (!body) continue;
      if (event === "transcript" || (event === "done" && typeof body.text === "string")) {
        // A segment as it is decoded; `done` carries the whole transcript.
        text = event === "done" ? body.text : text + body.text;
        shown.textContent = text.trim();
        section.dataset.text = text.trim();
        if (!rate) status.textContent = "Synthesizing the transcript…";
      } else if (event === "audio") {
        if (!rate) {
          rate = body.sample_rate || 22050;
          player.start(rate);
          setState(section, "playing");
          status.textContent = "Speaking the transcript while it is synthesized…";
        }
        player.push(base64Bytes(body.audio));
      } else if (event === "error") {
        throw new ApiError(body.error.message, body.error.code, 0);
      }
    }
    if (!rate) return "Nothing to say.";
    player.finish();
    return `Said the transcript back: ${(player.received / rate).toFixed(1)} s of speech.`;
  });
}

const rtRecorder = new Recorder($("rt-meter"), $("rt-time"), $("roundtrip"));
recordButton($("rt-record"), rtRecorder, $("rt-error"), (blob) => roundTrip(blob, recordingName(blob)));
$("rt-file").addEventListener("change", () => {
  const file = $("rt-file").files[0];
  if (file) roundTrip(file, file.name);
});
$("rt-last").addEventListener("click", () => {
  if (transcribe.audio) roundTrip(transcribe.audio.blob, transcribe.audio.name);
});

// ---------------------------------------------------------------- start

$("api-key").value = apiKey();
$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const key = $("api-key").value.trim();
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
  loadLists();
});
$("key-forget").addEventListener("click", () => {
  localStorage.removeItem(KEY_STORAGE);
  $("api-key").value = "";
  loadLists();
});

loadLists();
document.body.dataset.ready = "true";
