#!/usr/bin/env python3
"""`make bench`: measures Vox against faster-whisper and piper-tts side by side, in one run.

  python3 bench/run.py            quick mode (fixtures + a ~30 s clip; sentence and paragraph)
  python3 bench/run.py --full     adds a ~2.7 min clip and ~70 s of speech to synthesize
  python3 bench/run.py --only preinit   one part: asr, tts, service or preinit

Prints a Markdown report and writes it, with the raw JSON, to bench/results/.
Expects `make build models` (the Makefile's `bench` target runs them first).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from asr_bench import run_asr  # noqa: E402
from clips import benchmark_clips, load_references  # noqa: E402
from machine import load_average, machine_facts, vox_versions  # noqa: E402
from report import render, targets  # noqa: E402
from preinit_bench import run_preinit  # noqa: E402
from service_bench import THROUGHPUT_CLIP, run_service  # noqa: E402
from texts import benchmark_texts  # noqa: E402
from tts_bench import run_tts  # noqa: E402
from venv import ensure_reference_tools  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
PARTS = ["asr", "tts", "service", "preinit"]
REQUIRED_BUILD_OUTPUTS = [
    "target/release/vox",
    "target/wasm32-wasip2/release/vox_asr.wasm",
    "target/wasm32-wasip2/release/vox_tts.wasm",
    "target/wasm32-wasip2/release/vox_gateway.wasm",
    "target/preinit/vox_asr.wasm",
    "target/preinit/vox_tts.wasm",
    "models/whisper/tiny.en/model.bin",
    "models/voices/en_US-joe-medium.onnx",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="add the long clip and the long text")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for faster-whisper and piper-tts (default 1, like one Vox request)")
    parser.add_argument("--beams", default="1,5", help="ASR beam sizes, comma separated (default 1,5)")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (repeatable; default: all of them)")
    return parser.parse_args()


def check_prerequisites() -> None:
    missing = [p for p in REQUIRED_BUILD_OUTPUTS if not (ROOT / p).exists()]
    if missing:
        sys.exit(f"bench: missing {', '.join(missing)}; run `make build models` first")


def compiled_cache_warm() -> bool:
    cache = Path(os.environ.get("VOX_CACHE_DIR") or Path.home() / ".cache/vox/compiled")
    return cache.is_dir() and any(cache.iterdir())


def reference_versions(python: Path) -> dict:
    output = subprocess.run([str(python), str(BENCH_DIR / "reference.py"), "versions"],
                            capture_output=True, text=True, check=True).stdout
    versions = json.loads(output)
    versions.pop("event")
    return versions


def command_line(args: argparse.Namespace) -> str:
    return "make bench" if not sys.argv[1:] else "python3 bench/run.py " + " ".join(sys.argv[1:])


def write_results(result: dict, markdown: str) -> Path:
    stamp = result["started_utc"].replace(":", "").replace("-", "")
    json_path = RESULTS_DIR / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(result, indent=2))
    (RESULTS_DIR / "latest.json").write_text(json.dumps(result, indent=2))
    (RESULTS_DIR / "latest.md").write_text(markdown)
    return json_path


def exit_on_sigterm() -> None:
    """Turns SIGTERM into SystemExit, so every started `vox up` is stopped on the way out."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def main() -> None:
    exit_on_sigterm()
    args = parse_args()
    check_prerequisites()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    python = ensure_reference_tools()
    started = time.perf_counter()
    result = {
        "started_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": "full" if args.full else "quick",
        "command": command_line(args),
        "threads": args.threads,
        "machine": machine_facts(),
        "versions": {**vox_versions(ROOT), **reference_versions(python)},
        "load_before": load_average(),
        "compiled_cache_warm": compiled_cache_warm(),
    }
    beams = [int(b) for b in args.beams.split(",")]
    clips = benchmark_clips(ROOT, RESULTS_DIR, load_references(BENCH_DIR / "references.tsv"), args.full)
    texts = benchmark_texts(args.full)

    parts = args.only or PARTS
    if "asr" in parts:
        result["asr"] = {"beams": beams, "clips": [c.name for c in clips],
                         "engines": run_asr(ROOT, python, RESULTS_DIR, clips, beams, args.threads)}
    if "tts" in parts:
        result["tts"] = {"texts": texts, **run_tts(ROOT, python, RESULTS_DIR, texts, args.threads)}
    if "service" in parts:
        result["service"] = run_service(ROOT, RESULTS_DIR, clips)
    if "preinit" in parts:
        result["preinit"] = run_preinit(ROOT, RESULTS_DIR, clips, THROUGHPUT_CLIP)
    result["load_after"] = load_average()
    result["elapsed_s"] = time.perf_counter() - started
    result["targets"] = targets(result)

    markdown = render(result)
    json_path = write_results(result, markdown)
    print(markdown)
    print(f"bench: results in {json_path.relative_to(ROOT)} and bench/results/latest.md", file=sys.stderr)


if __name__ == "__main__":
    main()
