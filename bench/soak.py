"""The soak: `vox up` under concurrent mixed traffic for a fixed time — transcriptions (native and
OpenAI), syntheses, the end-to-end flow, bad input and clients that leave mid-request — checking
every answer, sampling memory and live instances, and stopping on its own.

  python3 -m bench.soak                 30 minutes at 2x the cores' concurrency
  python3 -m bench.soak --minutes 2     a short run

Loopback only. Writes bench/results/soak-<stamp>.json, soak-latest.json and soak-rss.svg, and
prints a Markdown summary (docs/reliability.md records one). Expects `make build models`.
"""

import argparse
import hashlib
import http.client
import json
import logging
import os
import random
import re
import signal
import socket
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench.charts import line_chart
from bench.clips import load_references
from bench.server import HOST, VoxServer, free_port, memory_kb
from bench.workspace import BENCH_DIR, RESULTS_DIR, ROOT, missing_build_outputs

log = logging.getLogger("bench.soak")

SAMPLE_EVERY_S = 5.0
# What each client picks, by weight: mostly real work, with bad input and disconnects mixed in.
MIX = {"asr": 5, "openai_asr": 2, "tts": 5, "e2e": 2, "bad_input": 3, "disconnect": 2}
CLIPS = ["crates/whisper/tests/fixtures/jfk.wav", "crates/whisper/tests/fixtures/librispeech-test-clean-a.wav"]
OPENAI_CLIP = "tests/fixtures/jfk.flac"
TEXTS = [
    "The soak keeps the service busy for half an hour.",
    "Every answer is checked against the first one. Nothing may be lost, and nothing may leak.",
]
# Without noise a voice says a text the same way every time, so each answer can be held to the first.
NOISELESS = {"noise_scale": 0, "noise_w": 0}
LONG_TEXT = " ".join(["This sentence is synthesized for a client that leaves before it ends."] * 12)
# After the traffic stops, instances retire once idle this long; the soak then counts the live ones.
IDLE_INSTANCE_TIMEOUT = "2s"
REQUEST_TIMEOUT_S = 300


@dataclass
class Outcome:
    kind: str
    at_s: float  # since the soak started
    seconds: float
    status: int
    ok: bool
    problem: str = ""


@dataclass
class Sample:
    at_s: float
    rss_mb: float
    pss_mb: float
    instances: dict[str, int]


@dataclass
class Expected:
    """The first answers, which every later one must repeat."""
    asr_text: dict[str, str] = field(default_factory=dict)
    openai_text: str = ""
    tts_digest: dict[str, str] = field(default_factory=dict)
    e2e_bytes: int = 0


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def recall(reference: str, hypothesis: str) -> float:
    said = set(words(hypothesis))
    ref = words(reference)
    return sum(w in said for w in ref) / max(1, len(ref))


class Client:
    """HTTP to the server under test, one connection per request (as most clients do)."""

    def __init__(self, port: int):
        self.port = port

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers={"x-request-id": f"soak-{uuid.uuid4()}", **(headers or {})})
            resp = conn.getresponse()
            return resp.status, resp.getheader("content-type") or "", resp.read()
        finally:
            conn.close()

    def leave_mid_upload(self, body: bytes) -> None:
        """Sends half an upload, then hangs up."""
        with socket.create_connection((HOST, self.port), timeout=30) as s:
            head = (f"POST /api/asr HTTP/1.1\r\nhost: {HOST}\r\ncontent-type: audio/wav\r\n"
                    f"content-length: {len(body)}\r\n\r\n").encode()
            s.sendall(head + body[: len(body) // 2])
            time.sleep(0.2)

    def leave_mid_answer(self, method: str, path: str, body: bytes, headers: dict) -> None:
        """Sends the whole request, reads the first bytes of the answer, then hangs up."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=headers)
            conn.getresponse().read1(256)
        finally:
            conn.close()


def multipart(fields: dict[str, str], file_name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\ncontent-disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\ncontent-disposition: form-data; name="file"; filename="{file_name}"\r\n'
                 f"content-type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Traffic:
    """What one soak sends, and the check each answer must pass."""

    def __init__(self, client: Client, references: dict[str, str]):
        self.client = client
        self.clips = {c: (ROOT / c).read_bytes() for c in CLIPS}
        # jfk.wav is the recording of jfk.flac, whose reference the table holds.
        self.references = {c: references.get(Path(c).name) or references[Path(c).with_suffix(".flac").name]
                           for c in CLIPS}
        self.openai_clip = (ROOT / OPENAI_CLIP).read_bytes()
        self.expected = Expected()

    def asr(self, rng: random.Random) -> tuple[int, str]:
        clip = rng.choice(CLIPS)
        status, _, body = self.client.send("POST", "/api/asr?language=en", self.clips[clip],
                                           {"content-type": "audio/wav"})
        if status != 200:
            return status, f"status {status}: {body[:200]!r}"
        text = json.loads(body)["text"]
        return status, "" if text == self.expected.asr_text[clip] else f"transcript changed: {text!r}"

    def openai_asr(self, rng: random.Random) -> tuple[int, str]:
        body, content_type = multipart({"model": "whisper-1", "response_format": "json"}, "jfk.flac",
                                       self.openai_clip)
        status, _, answer = self.client.send("POST", "/v1/audio/transcriptions", body, {"content-type": content_type})
        if status != 200:
            return status, f"status {status}: {answer[:200]!r}"
        text = json.loads(answer)["text"]
        return status, "" if text == self.expected.openai_text else f"transcript changed: {text!r}"

    def tts(self, rng: random.Random) -> tuple[int, str]:
        text = rng.choice(TEXTS)
        status, content_type, audio = self.client.send("POST", "/api/tts", json.dumps({"text": text, **NOISELESS}).encode(),
                                                       {"content-type": "application/json"})
        if status != 200 or not content_type.startswith("audio/wav"):
            return status, f"status {status} ({content_type}): {audio[:200]!r}"
        digest = hashlib.sha256(audio).hexdigest()
        return status, "" if digest == self.expected.tts_digest[text] else "synthesized audio changed"

    def e2e(self, rng: random.Random) -> tuple[int, str]:
        status, done = self.speak_back(CLIPS[0])
        if status != 200:
            return status, f"status {status}: {done!r}"
        if done["text"] != self.expected.asr_text[CLIPS[0]]:
            return status, f"heard {done['text']!r}"
        # Sentences are joined into one synthesis as they queue up, which moves the pauses a
        # little: the speech is the same length within a few percent, not byte for byte.
        spoken = done["bytes"] / self.expected.e2e_bytes
        return status, "" if abs(spoken - 1) < 0.1 else f"spoke {done['bytes']} bytes"

    def speak_back(self, clip: str) -> tuple[int, dict | bytes]:
        """/api/e2e as events: the status, and the `done` event (or the error body)."""
        status, _, body = self.client.send("POST", "/api/e2e?language=en", self.clips[clip],
                                           {"content-type": "audio/wav", "accept": "text/event-stream"})
        if status != 200:
            return status, body[:200]
        for block in body.decode().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if fields.get("event") == "done":
                return status, json.loads(fields["data"])
        return 0, body[-200:]

    def bad_input(self, rng: random.Random) -> tuple[int, str]:
        cases = [
            ("POST", "/api/asr", b"this is text, not audio" * 20, {"content-type": "audio/wav"}),
            ("POST", "/api/tts", b'{"text": ""}', {"content-type": "application/json"}),
            ("POST", "/api/tts", b'{"text": "x", "speed": 99}', {"content-type": "application/json"}),
            ("POST", "/api/tts", b"{not json", {"content-type": "application/json"}),
            ("POST", "/api/tts", json.dumps({"text": "a" * 10_001}).encode(), {"content-type": "application/json"}),
            ("POST", "/v1/audio/speech", b'{"model": "tts-1", "input": "hi", "voice": "no-such-voice"}',
             {"content-type": "application/json"}),
        ]
        method, path, body, headers = rng.choice(cases)
        status, _, answer = self.client.send(method, path, body, headers)
        try:
            error = json.loads(answer)["error"]
            shaped = bool(error["code"]) and bool(error["message"])
        except (ValueError, KeyError, TypeError):
            shaped = False
        if not 400 <= status < 500 or not shaped:
            return status, f"{path}: status {status}: {answer[:200]!r}"
        return status, ""

    def disconnect(self, rng: random.Random) -> tuple[int, str]:
        way = rng.randrange(3)
        if way == 0:
            self.client.leave_mid_upload(self.clips[CLIPS[1]])
        elif way == 1:
            self.client.leave_mid_answer("POST", "/api/asr?language=en", self.clips[CLIPS[1]],
                                         {"content-type": "audio/wav", "accept": "application/x-ndjson"})
        else:
            self.client.leave_mid_answer("POST", "/api/tts?format=pcm", LONG_TEXT.encode(),
                                         {"content-type": "text/plain"})
        return 499, ""

    def learn_expected(self) -> dict[str, float]:
        """The first answers, asked twice each: the soak holds every later answer to them."""
        recalls = {}
        for clip in CLIPS:
            texts = {json.loads(self.client.send("POST", "/api/asr?language=en", self.clips[clip],
                                                 {"content-type": "audio/wav"})[2])["text"] for _ in range(2)}
            assert len(texts) == 1, f"{clip}: two answers differ: {texts}"
            self.expected.asr_text[clip] = texts.pop()
            recalls[clip] = recall(self.references[clip], self.expected.asr_text[clip])
            assert recalls[clip] > 0.8, f"{clip}: {self.expected.asr_text[clip]!r}"
        body, content_type = multipart({"model": "whisper-1", "response_format": "json"}, "jfk.flac",
                                       self.openai_clip)
        self.expected.openai_text = json.loads(self.client.send(
            "POST", "/v1/audio/transcriptions", body, {"content-type": content_type})[2])["text"]
        for text in TEXTS:
            digests = {hashlib.sha256(self.client.send("POST", "/api/tts", json.dumps({"text": text, **NOISELESS}).encode(),
                                                       {"content-type": "application/json"})[2]).hexdigest()
                       for _ in range(2)}
            assert len(digests) == 1, f"synthesis of {text!r} differs between two runs"
            self.expected.tts_digest[text] = digests.pop()
        status, done = self.speak_back(CLIPS[0])
        assert status == 200 and done["text"] == self.expected.asr_text[CLIPS[0]], done
        self.expected.e2e_bytes = done["bytes"]
        return recalls


def scrape(port: int) -> dict[str, dict[str, float]]:
    """Prometheus text from the metrics listener, as {metric: {labels: value}}."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    metrics: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        metrics.setdefault(name, {})[labels.rstrip("}")] = float(value)
    return metrics


def live_instances(port: int) -> dict[str, int]:
    live = scrape(port).get("vox_instances_live", {})
    return {re.search(r'component="([^"]+)"', k).group(1): int(v) for k, v in live.items()}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_soak(minutes: float, clients: int, seed: int) -> dict:
    references = load_references(BENCH_DIR / "references.tsv")
    metrics_port = free_port()
    results = RESULTS_DIR
    results.mkdir(parents=True, exist_ok=True)
    server = VoxServer(ROOT, results / "logs", idle_instance_timeout=IDLE_INSTANCE_TIMEOUT,
                       extra_flags=("--metrics-listen", f"{HOST}:{metrics_port}"))
    outcomes: list[Outcome] = []
    samples: list[Sample] = []
    lock = threading.Lock()
    with server:
        traffic = Traffic(Client(server.port), references)
        recalls = traffic.learn_expected()
        log.info("soak: %d clients for %.0f min on port %d", clients, minutes, server.port)
        started = time.perf_counter()
        stop_at = started + minutes * 60
        kinds = list(MIX)
        weights = [MIX[k] for k in kinds]

        def client_loop(n: int) -> None:
            rng = random.Random(seed + n)
            while time.perf_counter() < stop_at:
                kind = rng.choices(kinds, weights)[0]
                t0 = time.perf_counter()
                try:
                    status, problem = getattr(traffic, kind)(rng)
                except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                    status, problem = 0, f"{type(e).__name__}: {e}"
                outcome = Outcome(kind, t0 - started, time.perf_counter() - t0, status, not problem, problem)
                with lock:
                    outcomes.append(outcome)
                if problem:
                    log.warning("soak: %s failed: %s", kind, problem)

        threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(clients)]
        for t in threads:
            t.start()
        next_sample = started
        while any(t.is_alive() for t in threads):
            now = time.perf_counter()
            if now >= next_sample:
                memory = memory_kb(server.process.pid)
                samples.append(Sample(round(now - started, 1), memory.rss_kb / 1024, memory.pss_kb / 1024,
                                      live_instances(metrics_port)))
                with lock:
                    done = len(outcomes)
                if len(samples) % 12 == 0:
                    log.info("soak: %.0f s, %d requests, rss %.0f MB", now - started, done, samples[-1].rss_mb)
                next_sample += SAMPLE_EVERY_S
            time.sleep(0.2)
        traffic_s = time.perf_counter() - started
        # Idle now: every instance should retire within its idle timeout; what stays has leaked.
        time.sleep(5)
        left = live_instances(metrics_port)
        final = memory_kb(server.process.pid)
        metrics = scrape(metrics_port)
        still_serving = traffic.asr(random.Random(seed))[1] == ""
    return summarise(minutes, clients, seed, traffic_s, outcomes, samples, left, final, metrics, recalls,
                     still_serving)


def summarise(minutes, clients, seed, traffic_s, outcomes, samples, left, final, metrics, recalls,
              still_serving) -> dict:
    by_kind = {}
    for kind in MIX:
        mine = [o for o in outcomes if o.kind == kind]
        good = [o.seconds for o in mine if o.ok]
        by_kind[kind] = {"requests": len(mine), "failed": sum(not o.ok for o in mine),
                         "p50_s": round(percentile(good, 0.50), 3), "p99_s": round(percentile(good, 0.99), 3)}
    problems: dict[str, int] = {}
    for o in outcomes:
        if not o.ok:
            key = f"{o.kind}: {o.problem.split(':')[0]}"
            problems[key] = problems.get(key, 0) + 1
    statuses = {}
    for labels, value in metrics.get("vox_http_requests_total", {}).items():
        status = re.search(r'status="(\d+)"', labels).group(1)
        statuses[status] = statuses.get(status, 0) + int(value)
    # Warm-up is the first tenth; memory after it should stay flat.
    after_warmup = [s for s in samples if s.at_s >= traffic_s / 10] or samples
    half = len(after_warmup) // 2
    early = statistics.mean(s.rss_mb for s in after_warmup[:max(1, half)])
    late = statistics.mean(s.rss_mb for s in after_warmup[half:] or after_warmup)
    return {
        "started_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python3 -m bench.soak " + " ".join(sys.argv[1:]),
        "minutes": minutes, "clients": clients, "cores": os.cpu_count(), "seed": seed,
        "traffic_s": round(traffic_s, 1),
        "requests": len(outcomes), "failed": sum(not o.ok for o in outcomes),
        "by_kind": by_kind, "problems": problems, "statuses_seen_by_host": statuses,
        "transcript_recall": {Path(k).name: round(v, 3) for k, v in recalls.items()},
        "rss_mb": {"peak": round(max(s.rss_mb for s in samples), 1),
                   "after_warmup_first_half_mean": round(early, 1),
                   "after_warmup_second_half_mean": round(late, 1),
                   "growth_pct": round(100 * (late - early) / early, 1),
                   "idle_at_end": round(final.rss_kb / 1024, 1)},
        "pss_mb_peak": round(max(s.pss_mb for s in samples), 1),
        "instances_peak": {c: max(s.instances.get(c, 0) for s in samples) for c in samples[-1].instances},
        "instances_left_when_idle": left,
        "still_serving_after": still_serving,
        "samples": [vars(s) for s in samples],
    }


def render(result: dict) -> str:
    rss = result["rss_mb"]
    lines = [
        f"Soak: {result['minutes']:g} min, {result['clients']} concurrent clients on {result['cores']} cores "
        f"(`{result['command']}`, {result['started_utc']})",
        "",
        f"{result['requests']} requests, {result['failed']} failed; instances left when idle: "
        f"{result['instances_left_when_idle']}; still serving after: {result['still_serving_after']}",
        "",
        "| traffic | requests | failed | p50 | p99 |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, row in result["by_kind"].items():
        lines.append(f"| {kind} | {row['requests']} | {row['failed']} | {row['p50_s']:.2f} s | {row['p99_s']:.2f} s |")
    lines += [
        "",
        f"RSS: peak {rss['peak']:.0f} MB; after warm-up {rss['after_warmup_first_half_mean']:.0f} MB (first half) → "
        f"{rss['after_warmup_second_half_mean']:.0f} MB (second half), {rss['growth_pct']:+.1f}%; "
        f"{rss['idle_at_end']:.0f} MB idle at the end. PSS peak {result['pss_mb_peak']:.0f} MB.",
        f"Statuses the host counted: {dict(sorted(result['statuses_seen_by_host'].items()))}",
        f"Problems: {result['problems'] or 'none'}",
    ]
    return "\n".join(lines) + "\n"


def rss_chart(result: dict) -> str:
    samples = result["samples"]
    return line_chart(
        title=f"vox up RSS under the soak ({result['clients']} clients, {result['minutes']:g} min)",
        x_label="minutes", y_label="MB",
        series={"RSS": [(s["at_s"] / 60, s["rss_mb"]) for s in samples],
                "PSS": [(s["at_s"] / 60, s["pss_mb"]) for s in samples]})


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    parser = argparse.ArgumentParser(prog="python3 -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    missing = missing_build_outputs()
    if missing:
        log.error("missing %s; run `make build models` first", ", ".join(missing))
        sys.exit(1)
    result = run_soak(args.minutes, args.clients, args.seed)
    stamp = result["started_utc"].replace(":", "").replace("-", "")
    for name in (f"soak-{stamp}.json", "soak-latest.json"):
        (RESULTS_DIR / name).write_text(json.dumps(result, indent=2))
    (RESULTS_DIR / "soak-rss.svg").write_text(rss_chart(result))
    print(render(result))
    sys.exit(0 if result["failed"] == 0 and not any(result["instances_left_when_idle"].values()) else 1)


if __name__ == "__main__":
    main()
