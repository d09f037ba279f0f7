"""One benchmark run: the chosen parts one after another, then the report and the raw JSON in
bench/results/."""

import json
import logging
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.asr_bench import run_asr
from bench.clips import benchmark_clips, load_references
from bench.machine import load_average, machine_facts, versions
from bench.preinit_bench import run_preinit
from bench.records import AsrPart, BenchRun, as_json
from bench.report import render, targets
from bench.service_bench import THROUGHPUT_CLIP, run_service
from bench.spin_bench import run_spin
from bench.streaming_bench import run_streaming
from bench.texts import benchmark_texts
from bench.tts_bench import run_tts
from bench.workspace import BENCH_DIR, RESULTS_DIR, ROOT

log = logging.getLogger(__name__)


def compiled_cache_warm() -> bool:
    cache = Path(os.environ.get("VOX_CACHE_DIR") or Path.home() / ".cache/vox/compiled")
    return cache.is_dir() and any(cache.iterdir())


def command_line() -> str:
    return "make bench" if not sys.argv[1:] else "python3 -m bench " + " ".join(sys.argv[1:])


def write_results(result: dict, markdown: str) -> Path:
    stamp = result["started_utc"].replace(":", "").replace("-", "")
    json_path = RESULTS_DIR / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(result, indent=2))
    (RESULTS_DIR / "latest.json").write_text(json.dumps(result, indent=2))
    (RESULTS_DIR / "latest.md").write_text(markdown)
    return json_path


def run_suite(full: bool, threads: int, beams: list[int], parts: list[str]) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    started_utc = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    machine, software, load_before = machine_facts(), versions(ROOT), load_average()
    cache_warm = compiled_cache_warm()
    references = load_references(BENCH_DIR / "references.tsv")
    clips = benchmark_clips(ROOT, RESULTS_DIR, references, full)
    texts = benchmark_texts(full)

    asr = tts = service = preinit = spin = streaming = None
    if "asr" in parts:
        asr = AsrPart(beams=beams, clips=[c.name for c in clips],
                      engines=run_asr(ROOT, RESULTS_DIR, clips, beams, threads))
    if "tts" in parts:
        tts = run_tts(ROOT, RESULTS_DIR, texts, threads)
    if "service" in parts:
        service = run_service(ROOT, RESULTS_DIR, clips)
    if "preinit" in parts:
        preinit = run_preinit(ROOT, RESULTS_DIR, clips, THROUGHPUT_CLIP)
    if "spin" in parts:
        spin = run_spin(ROOT, RESULTS_DIR, clips)
    if "streaming" in parts:
        streaming = run_streaming(ROOT, RESULTS_DIR, references)
    run = BenchRun(
        started_utc=started_utc, mode="full" if full else "quick", command=command_line(), threads=threads,
        machine=machine, versions=software, load_before=load_before, compiled_cache_warm=cache_warm,
        asr=asr, tts=tts, service=service, preinit=preinit, spin=spin, streaming=streaming,
        load_after=load_average(), elapsed_s=time.perf_counter() - started)
    run.targets = targets(as_json(run))

    result = as_json(run)
    markdown = render(result)
    json_path = write_results(result, markdown)
    print(markdown)
    log.info("results in %s and bench/results/latest.md", json_path.relative_to(ROOT))
