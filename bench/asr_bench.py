"""Speech recognition: Vox over HTTP, the whisper library natively, faster-whisper int8 and float32."""

import json
import logging
import subprocess
import sys
from pathlib import Path

from bench.clips import Clip
from bench.records import AsrInProcess, AsrOverHttp, AsrRow
from bench.server import Response, VoxServer
from bench.wer import word_errors

MODEL_DIR = Path("models/whisper/tiny.en")
FASTER_WHISPER_TYPES = ["int8", "float32"]
# Vox's compute types (the asr_compute_type Spin variable; int8 ships) and their engine names:
# through `vox up` (its default, the graphs on the host's native tract through wasi:nn), and the
# whisper library as a native program of its own.
VOX_TYPES = {"int8": ("vox (vox up)", "vox (native)"),
             "float32": ("vox float32 (vox up)", "vox float32 (native)")}
# The shipped int8 model in the portable component Spin runs (`vox up --inference wasm`).
VOX_IN_COMPONENT = "vox (vox up, in-component)"
WARM_UP_CLIP = "jfk.wav"

log = logging.getLogger(__name__)


def result_row(engine: str, clip: Clip, beam_size: int, wall_s: float, text: str,
               cpu_s: float | None = None) -> AsrRow:
    errors = word_errors(clip.reference, text)
    return AsrRow(engine=engine, clip=clip.name, beam_size=beam_size, audio_s=round(clip.duration_s, 2),
                  wall_s=wall_s, rtf=wall_s / clip.duration_s, wer=errors.rate, word_errors=errors.errors,
                  reference_words=errors.reference_words, text=text, cpu_s=cpu_s)


def content_type(clip: Clip) -> str:
    return "audio/wav" if clip.is_wav else "audio/flac"


def transcribe_over_http(server: VoxServer, clip: Clip, beam_size: int) -> tuple[Response, str]:
    body = clip.path.read_bytes()
    response = server.request("POST", f"/api/asr?language=en&beam_size={beam_size}", body,
                              {"content-type": content_type(clip)})
    if response.status != 200:
        raise RuntimeError(f"/api/asr {clip.name}: {response.status} {response.body[:200]!r}")
    return response, json.loads(response.body)["text"]


def bench_vox_http(server: VoxServer, clips: list[Clip], beams: list[int], engine: str) -> AsrOverHttp:
    warm_up = next(c for c in clips if c.name == WARM_UP_CLIP)
    first, _ = transcribe_over_http(server, warm_up, 1)
    rows = []
    for clip in clips:
        for beam_size in beams:
            log.info("asr vox-http %s beam %d", clip.name, beam_size)
            cpu = server.cpu_seconds
            response, text = transcribe_over_http(server, clip, beam_size)
            rows.append(result_row(engine, clip, beam_size, response.total_s, text, server.cpu_seconds - cpu))
    return AsrOverHttp(rows=rows, first_request_s=first.total_s, peak_rss_kb=server.peak_rss_kb,
                       startup_s=server.startup_s)


def read_json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def build_native_example(root: Path) -> Path:
    log.info("building the vox-whisper bench example")
    subprocess.run(["cargo", "build", "--release", "-p", "vox-whisper", "--example", "transcribe-bench"],
                   cwd=root, check=True, stdout=sys.stderr)
    return root / "target/release/examples/transcribe-bench"


def engine_rows(engine: str, events: list[dict], clips: list[Clip]) -> list[AsrRow]:
    by_path = {str(c.path): c for c in clips}
    return [result_row(engine, by_path[e["clip"]], e["beam_size"], e["wall_s"], e["text"], e.get("cpu_s"))
            for e in events if e["event"] == "transcribe"]


def summary(engine: str, events: list[dict], clips: list[Clip]) -> AsrInProcess:
    load = next(e for e in events if e["event"] == "load")
    done = next(e for e in events if e["event"] == "done")
    return AsrInProcess(rows=engine_rows(engine, events, clips), load_s=load["wall_s"],
                        peak_rss_kb=done["peak_rss_kb"])


def bench_native(root: Path, clips: list[Clip], beams: list[int], compute_type: str) -> AsrInProcess:
    binary = build_native_example(root)
    wav_clips = [c for c in clips if c.is_wav]
    log.info("asr vox-native %s on %d clips", compute_type, len(wav_clips))
    command = [str(binary), "--compute-type", compute_type, str(root / MODEL_DIR), ",".join(map(str, beams)),
               *(str(c.path) for c in wav_clips)]
    output = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True).stdout
    return summary(VOX_TYPES[compute_type][1], read_json_lines(output), clips)


def bench_faster_whisper(root: Path, results: Path, clips: list[Clip], beams: list[int],
                         compute_type: str, threads: int) -> AsrInProcess:
    job = {"model": str(root / MODEL_DIR), "compute_type": compute_type, "threads": threads,
           "beams": beams, "clips": [str(c.path) for c in clips]}
    job_file = results / f"asr-job-{compute_type}.json"
    job_file.write_text(json.dumps(job))
    log.info("asr faster-whisper %s, %d thread(s)", compute_type, threads)
    # sys.executable: the bench runs under the venv's python, which has faster-whisper.
    output = subprocess.run([sys.executable, "-m", "bench.reference", "asr", str(job_file)],
                            cwd=root, capture_output=True, text=True, check=True).stdout
    return summary(f"faster-whisper {compute_type}", read_json_lines(output), clips)


def run_asr(root: Path, results: Path, clips: list[Clip], beams: list[int],
            threads: int) -> dict[str, AsrOverHttp | AsrInProcess]:
    engines: dict[str, AsrOverHttp | AsrInProcess] = {}
    # Native inference gets the reference tools' thread budget.
    native_flags = ("--inference-threads", str(threads))
    for compute_type, (http, _) in VOX_TYPES.items():
        # A compute type other than the start-up one loads at the warm-up request, outside the timings.
        env = {"SPIN_VARIABLE_ASR_COMPUTE_TYPE": compute_type}
        with VoxServer(root, results / "logs", env=env, extra_flags=native_flags) as server:
            engines[http] = bench_vox_http(server, clips, beams, http)
    with VoxServer(root, results / "logs", extra_flags=("--inference", "wasm")) as server:
        engines[VOX_IN_COMPONENT] = bench_vox_http(server, clips, beams, VOX_IN_COMPONENT)
    for compute_type in VOX_TYPES:
        engines[VOX_TYPES[compute_type][1]] = bench_native(root, clips, beams, compute_type)
    for compute_type in FASTER_WHISPER_TYPES:
        engines[f"faster-whisper {compute_type}"] = bench_faster_whisper(
            root, results, clips, beams, compute_type, threads)
    return engines
