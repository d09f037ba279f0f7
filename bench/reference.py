"""Runs the reference tools (faster-whisper, piper-tts) under the benchmark venv's python.

Each invocation is its own process, so its peak RSS (`ru_maxrss`) belongs to one configuration.
Prints one JSON object per line; bench/asr_bench.py and bench/tts_bench.py read them.

  python -m bench.reference asr JOB.json    {"model", "compute_type", "threads", "beams", "clips"}
  python -m bench.reference tts JOB.json    {"voice", "threads", "items": [{"name", "text", "noise_scale",
                                              "noise_w", "length_scale", "pcm_out"?}]}
"""

import json
import resource
import sys
import time
from pathlib import Path


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def run_asr(job: dict) -> None:
    from faster_whisper import WhisperModel

    started = time.perf_counter()
    model = WhisperModel(job["model"], device="cpu", compute_type=job["compute_type"],
                         cpu_threads=job["threads"], num_workers=1)
    emit(event="load", wall_s=time.perf_counter() - started)
    for clip in job["clips"]:
        for beam_size in job["beams"]:
            started, cpu = time.perf_counter(), time.process_time()
            segments, info = model.transcribe(clip, language="en", beam_size=beam_size)
            text = " ".join(s.text.strip() for s in segments)  # the generator does the work
            emit(event="transcribe", clip=clip, beam_size=beam_size, wall_s=time.perf_counter() - started,
                 cpu_s=time.process_time() - cpu, duration_s=info.duration, text=text)


def load_piper_voice(onnx_path: str, threads: int):
    """What PiperVoice.load does, with onnxruntime limited to `threads` like the other engines."""
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(onnx_path, sess_options=options, providers=["CPUExecutionProvider"])
    config = PiperConfig.from_dict(json.loads(Path(f"{onnx_path}.json").read_text(encoding="utf-8")))
    return PiperVoice(config=config, session=session)


def synthesize_timed(voice, text: str, config) -> tuple[float, float, bytes]:
    """Time to the first chunk, total time and the whole int16 PCM."""
    started = time.perf_counter()
    first, pcm = None, []
    for chunk in voice.synthesize(text, config):
        if first is None:
            first = time.perf_counter() - started
        pcm.append(chunk.audio_int16_bytes)
    return first or 0.0, time.perf_counter() - started, b"".join(pcm)


def run_tts(job: dict) -> None:
    from piper import SynthesisConfig

    started = time.perf_counter()
    voice = load_piper_voice(job["voice"], job["threads"])
    emit(event="load", wall_s=time.perf_counter() - started, sample_rate=voice.config.sample_rate)
    synthesize_timed(voice, "Warm up.", SynthesisConfig())
    for item in job["items"]:
        config = SynthesisConfig(noise_scale=item["noise_scale"], noise_w_scale=item["noise_w"],
                                 length_scale=item["length_scale"])
        first, total, pcm = synthesize_timed(voice, item["text"], config)
        if item.get("pcm_out"):
            Path(item["pcm_out"]).write_bytes(pcm)
        emit(event="synthesize", name=item["name"], first_chunk_s=first, total_s=total,
             audio_s=len(pcm) / 2 / voice.config.sample_rate)


def main() -> None:
    command = sys.argv[1]
    job = json.loads(Path(sys.argv[2]).read_text())
    {"asr": run_asr, "tts": run_tts}[command](job)
    emit(event="done", peak_rss_kb=peak_rss_kb())


if __name__ == "__main__":
    main()
