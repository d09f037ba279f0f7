"""The report renders a run built from the typed records, every part present: the records
serialise to the JSON keys bench/report.py reads.

  python -m unittest discover -s bench -t .    (under the bench venv's python, which has jiwer)
"""

import json
import unittest

from bench.records import (TTS_IN_COMPONENT, TTS_NATIVE, Agreement, AsrInProcess, AsrOverHttp, AsrPart, AsrRow, BenchRun, CompileRun,
                           ComponentMemory, ComponentReady, ComponentSizes, E2eRow, E2eRun, FreshAndWarm,
                           FreshInstances, HealthLatency, InstancesMemory, Machine, PreinitPart, ProcessMemory,
                           ServicePart, SpinPart, SpinSetting, StreamingRun, Throughput, TtsInProcess, TtsOverHttp, TtsPart, TtsTiming,
                           VoiceSettings, as_json)
from bench.report import ASR_ENGINES, render, targets

CLIPS = ["jfk.wav", "concat-30s"]
BEAMS = [1, 5]


def asr_rows(engine: str) -> list[AsrRow]:
    return [AsrRow(engine=engine, clip=clip, beam_size=beam, audio_s=11.0, wall_s=1.0, rtf=0.09, wer=0.05,
                   word_errors=1, reference_words=20, text="and so my fellow americans")
            for beam in BEAMS for clip in CLIPS]


def asr_part() -> AsrPart:
    engines = {name: AsrInProcess(rows=asr_rows(name), load_s=0.5, peak_rss_kb=200_000)
               for name in ASR_ENGINES[1:]}
    engines[ASR_ENGINES[0]] = AsrOverHttp(rows=asr_rows(ASR_ENGINES[0]), first_request_s=1.5,
                                          peak_rss_kb=900_000, startup_s=0.3)
    return AsrPart(beams=BEAMS, clips=CLIPS, engines=engines)


def tts_part() -> TtsPart:
    rows = {name: TtsTiming(first_audio_s=0.2, total_s=1.0, audio_s=3.0, rtf=0.33)
            for name in ("sentence", "paragraph")}
    return TtsPart(
        texts={"sentence": "A.", "paragraph": "A. B."},
        settings=VoiceSettings(noise_scale=0.667, noise_w=0.8, length_scale=1.0),
        engines={TTS_NATIVE: TtsOverHttp(rows=rows, first_request_s=0.9, peak_rss_kb=500_000, startup_s=0.3,
                                         warm_request_s=0.1),
                 TTS_IN_COMPONENT: TtsOverHttp(rows=rows, first_request_s=0.2, peak_rss_kb=600_000, startup_s=0.3,
                                               warm_request_s=0.2),
                 "piper-tts": TtsInProcess(rows=rows, load_s=0.4, peak_rss_kb=150_000, sample_rate=22050)},
        agreement={name: Agreement(correlation=1.0, duration_difference_percent=0.0, agreeing_prefix_s=3.0,
                                   vox_samples=66150, piper_samples=66150, sample_rate=22050)
                   for name in ("sentence", "paragraph")})


def throughput() -> dict[str, list[Throughput]]:
    return {kind: [Throughput(clients=c, requests=3 * c, wall_s=3.0, server_cores_busy=1.0, requests_per_s=c,
                              p50_s=1.0, p99_s=1.2, errors=0) for c in (1, 2, 4)] for kind in ("asr", "tts")}


def service_part() -> ServicePart:
    return ServicePart(
        startup_s=0.3,
        e2e=E2eRun(rows=[E2eRow(clip="jfk.wav", audio_in_s=11.0, status=200, first_audio_s=1.0, total_s=2.0,
                                audio_out_s=8.0)], first_request_s=2.5),
        health=HealthLatency(requests=500, p50_ms=0.2, p99_ms=0.5, mean_ms=0.25),
        throughput=throughput(), peak_rss_kb=1_000_000, throughput_one_per_instance=throughput(),
        one_per_instance_peak_rss_kb=2_000_000, fresh_startup_s=0.3,
        fresh_instance=FreshInstances(asr_s=[1.0, 1.1], tts_s=[0.5, 0.6]))


def preinit_part() -> PreinitPart:
    ready = {kind: ComponentReady(outcome="Cached", ms=3) for kind in ("asr", "tts")}
    memory = ComponentMemory(idle=ProcessMemory(rss_kb=100_000, pss_kb=90_000),
                             instances_1=InstancesMemory(rss_kb=300_000, pss_kb=250_000, statuses=[200]),
                             instances_4=InstancesMemory(rss_kb=600_000, pss_kb=300_000, statuses=[200] * 4))
    latency = FreshAndWarm(fresh_total_s=[0.5, 0.6], warm_total_s=[0.45, 0.5],
                           fresh_first_byte_s=[0.2, 0.3], warm_first_byte_s=[0.1, 0.1])
    return PreinitPart(
        sizes={kind: ComponentSizes(lazy_mb=20.0, preinit_mb=600.0) for kind in ("asr", "tts")},
        compile={mode: CompileRun(no_cache=ready, startup_s=25.0, cached=ready) for mode in ("lazy", "preinit")},
        latency={mode: {"asr": latency, "tts": latency} for mode in ("lazy", "preinit", "wasi-nn")},
        memory={mode: {"asr": memory, "tts": memory} for mode in ("lazy", "preinit", "wasi-nn")})


def spin_part() -> SpinPart:
    return SpinPart(version="spin 4.1.0", settings={
        name: SpinSetting(flags=flags, startup_s=2.0, throughput=throughput(), peak_rss_kb=1_500_000)
        for name, flags in (("default", []), ("one request per instance",
                                              ["--max-instance-concurrent-reuse-count", "1"]))})


def bench_run() -> BenchRun:
    return BenchRun(
        started_utc="2026-01-01T00:00:00Z", mode="quick", command="make bench", threads=1,
        machine=Machine(cpu="cpu", cores=2, memory_gib=8.0, kernel="6.0"),
        versions={"rustc": "rustc 1", "vox_commit": "abc", "faster-whisper": "1.2.1", "ctranslate2": "4",
                  "piper-tts": "1.8.0", "onnxruntime": "1", "jiwer": "4.0.0", "whisper-normalizer": "0.1.15"},
        load_before=[1.0, 1.0, 1.0], compiled_cache_warm=True,
        asr=None, tts=None, service=None, preinit=None, load_after=[1.0, 1.0, 1.0], elapsed_s=10.0)


class ReportTest(unittest.TestCase):
    def test_every_part_renders_from_its_json(self) -> None:
        run = bench_run()
        run.asr, run.tts, run.service, run.preinit = asr_part(), tts_part(), service_part(), preinit_part()
        run.spin = spin_part()
        run.streaming = StreamingRun(clip="concat-long", audio_s=160.0, asr_total_s=20.0, first_segment_s=2.0,
                                     streamed_asr_total_s=20.5, e2e_first_audio_s=8.0, e2e_total_s=40.0)
        run.targets = targets(as_json(run))
        result = json.loads(json.dumps(as_json(run)))
        markdown = render(result)
        for heading in ("## Targets", "## ASR", "## TTS", "## End to end", "## Service", "## Pre-initialised",
                        "## Under Spin", "## Streaming"):
            self.assertIn(heading, markdown)
        self.assertIn("| vox (vox up) | 5.0 % | 5.0 % |", markdown)
        self.assertIn("spin CPU (cores)", markdown)
        # TTS: first audio, RTF per text natively and in the component, the first request.
        # ASR: native and in-component per beam; pre-initialised: 3, and 3 for the wasi:nn builds.
        self.assertEqual(len(result["targets"]), 2 * len(BEAMS) + 6 + 3 + 2 + 3)
        first = [t for t in result["targets"] if "first request after start" in t["target"]]
        self.assertEqual([(t["measured"], t["met"]) for t in first], [("+0.80 s", False)])
        self.assertIn(f"| {TTS_IN_COMPONENT} | sentence |", markdown)
        streaming = [t for t in result["targets"] if "end-to-end audio" in t["target"]]
        self.assertEqual([t["met"] for t in streaming], [False])  # 8 s of 20 s is 0.40×
        self.assertIn("| first segment line (`/api/asr`, NDJSON) | 2.00 | 0.10 |", markdown)

    def test_parts_not_run_are_left_out(self) -> None:
        result = as_json(bench_run())
        self.assertEqual(list(result), ["started_utc", "mode", "command", "threads", "machine", "versions",
                                        "load_before", "compiled_cache_warm", "load_after", "elapsed_s", "targets"])
        self.assertIn("# Vox benchmark", render(result))


if __name__ == "__main__":
    unittest.main()
