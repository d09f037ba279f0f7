"""Speech synthesis: Vox `/api/tts` (streamed) vs piper-tts, same voice, text and settings."""

import json
import logging
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

from bench.metrics import agreeing_prefix_seconds, correlation, duration_difference_percent, samples_from_pcm
from bench.records import (TTS_IN_COMPONENT, TTS_NATIVE, Agreement, TtsInProcess, TtsOverHttp, TtsPart, TtsTiming,
                           VoiceSettings)
from bench.server import Response, VoxServer

VOICE = Path("models/voices/en_US-joe-medium.onnx")
REPEATS = {"sentence": 3, "paragraph": 3}  # other texts run once
AGREEMENT_TEXTS = ["sentence", "paragraph"]

log = logging.getLogger(__name__)


def voice_defaults(root: Path) -> VoiceSettings:
    inference = json.loads((root / f"{VOICE}.json").read_text())["inference"]
    return VoiceSettings(noise_scale=inference["noise_scale"], noise_w=inference["noise_w"],
                         length_scale=inference["length_scale"])


def without_noise(settings: VoiceSettings) -> VoiceSettings:
    return replace(settings, noise_scale=0.0, noise_w=0.0)


def vox_payload(text: str, settings: VoiceSettings) -> dict:
    # piper-tts adds no pause between the sentences it yields; Vox defaults to 0.2 s.
    return {"text": text, "format": "pcm", "noise_scale": settings.noise_scale, "noise_w": settings.noise_w,
            "speed": 1.0 / settings.length_scale, "sentence_silence": 0.0}


def synthesize_vox(server: VoxServer, text: str, settings: VoiceSettings) -> tuple[Response, float]:
    response = server.post_json("/api/tts", vox_payload(text, settings))
    if response.status != 200:
        raise RuntimeError(f"/api/tts: {response.status} {response.body[:200]!r}")
    sample_rate = int(response.headers.get("x-sample-rate", "22050"))
    return response, len(response.body) / 2 / sample_rate


def median_run(runs: list[TtsTiming]) -> TtsTiming:
    """The run with the median total time."""
    return sorted(runs, key=lambda r: r.total_s)[len(runs) // 2]


def timing(first_s: float, total_s: float, audio_s: float) -> TtsTiming:
    return TtsTiming(first_audio_s=first_s, total_s=total_s, audio_s=audio_s, rtf=total_s / audio_s)


def bench_vox(server: VoxServer, texts: dict[str, str], settings: VoiceSettings,
              pcm_dir: Path | None) -> TtsOverHttp:
    """`texts` through one server; with `pcm_dir`, also the noiseless audio the agreement reads."""
    first, _ = synthesize_vox(server, "Warm up.", settings)
    warm, _ = synthesize_vox(server, "Warm up.", settings)
    rows = {}
    for name, text in texts.items():
        runs = []
        for _ in range(REPEATS.get(name, 1)):
            log.info("tts vox %s", name)
            response, audio_s = synthesize_vox(server, text, settings)
            runs.append(timing(response.first_byte_s, response.total_s, audio_s))
        rows[name] = median_run(runs)
    for name in AGREEMENT_TEXTS if pcm_dir else []:
        response, _ = synthesize_vox(server, texts[name], without_noise(settings))
        (pcm_dir / f"vox-{name}.pcm").write_bytes(response.body)
    return TtsOverHttp(rows=rows, first_request_s=first.total_s, peak_rss_kb=server.peak_rss_kb,
                       startup_s=server.startup_s, warm_request_s=warm.total_s)


def piper_items(texts: dict[str, str], settings: VoiceSettings, pcm_dir: Path) -> list[dict]:
    items = [{"name": name, "text": text, **asdict(settings)}
             for name, text in texts.items() for _ in range(REPEATS.get(name, 1))]
    items += [{"name": f"agreement-{name}", "text": texts[name], **asdict(without_noise(settings)),
               "pcm_out": str(pcm_dir / f"piper-{name}.pcm")} for name in AGREEMENT_TEXTS]
    return items


def bench_piper(root: Path, results: Path, texts: dict[str, str], settings: VoiceSettings,
                threads: int, pcm_dir: Path) -> TtsInProcess:
    job = {"voice": str(root / VOICE), "threads": threads, "items": piper_items(texts, settings, pcm_dir)}
    job_file = results / "tts-job.json"
    job_file.write_text(json.dumps(job))
    log.info("tts piper-tts, %d thread(s)", threads)
    # sys.executable: the bench runs under the venv's python, which has piper-tts.
    output = subprocess.run([sys.executable, "-m", "bench.reference", "tts", str(job_file)],
                            cwd=root, capture_output=True, text=True, check=True).stdout
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    rows = {}
    for name in texts:
        runs = [timing(e["first_chunk_s"], e["total_s"], e["audio_s"]) for e in events
                if e["event"] == "synthesize" and e["name"] == name]
        rows[name] = median_run(runs)
    load = next(e for e in events if e["event"] == "load")
    done = next(e for e in events if e["event"] == "done")
    return TtsInProcess(rows=rows, load_s=load["wall_s"], peak_rss_kb=done["peak_rss_kb"],
                        sample_rate=load["sample_rate"])


def agreement(pcm_dir: Path, sample_rate: int) -> dict[str, Agreement]:
    out = {}
    for name in AGREEMENT_TEXTS:
        vox = samples_from_pcm((pcm_dir / f"vox-{name}.pcm").read_bytes())
        piper = samples_from_pcm((pcm_dir / f"piper-{name}.pcm").read_bytes())
        out[name] = Agreement(correlation=correlation(vox, piper),
                              duration_difference_percent=duration_difference_percent(len(vox), len(piper)),
                              agreeing_prefix_s=agreeing_prefix_seconds(vox, piper, sample_rate),
                              vox_samples=len(vox), piper_samples=len(piper), sample_rate=sample_rate)
    return out


def run_tts(root: Path, results: Path, texts: dict[str, str], threads: int) -> TtsPart:
    settings = voice_defaults(root)
    pcm_dir = results / "tts"
    pcm_dir.mkdir(parents=True, exist_ok=True)
    # Native inference gets the reference tool's thread count; in the component a request has one.
    native_flags = ("--inference-threads", str(threads))
    with VoxServer(root, results / "logs", extra_flags=native_flags) as server:
        native = bench_vox(server, texts, settings, pcm_dir)
    with VoxServer(root, results / "logs", extra_flags=("--inference", "wasm")) as server:
        in_component = bench_vox(server, texts, settings, None)
    piper = bench_piper(root, results, texts, settings, threads, pcm_dir)
    return TtsPart(texts=texts, settings=settings,
                   engines={TTS_NATIVE: native, TTS_IN_COMPONENT: in_component, "piper-tts": piper},
                   agreement=agreement(pcm_dir, piper.sample_rate))
