"""Renders a benchmark result (the JSON written to bench/results/) as Markdown."""

import math

from bench.records import TTS_IN_COMPONENT, TTS_NATIVE, Target

VOX_HTTP = "vox (vox up)"  # the shipped default: int8, graphs on the host through wasi:nn
VOX_WASM = "vox (vox up, in-component)"  # int8 in the portable component (`--inference wasm`)
VOX_HTTP_F32 = "vox float32 (vox up)"
VOX_NATIVE = "vox (native)"  # the whisper library as a native program, int8
VOX_NATIVE_F32 = "vox float32 (native)"
FW_INT8 = "faster-whisper int8"
FW_F32 = "faster-whisper float32"
ASR_ENGINES = [VOX_HTTP, VOX_WASM, VOX_HTTP_F32, VOX_NATIVE, VOX_NATIVE_F32, FW_INT8, FW_F32]


def asr_engines(engines: dict) -> list[str]:
    """The ASR engines a run measured, in report order."""
    return [e for e in ASR_ENGINES if e in engines]


def fmt(value: float, digits: int = 2) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def mib(kb: int) -> str:
    return f"{kb / 1024:.0f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def asr_index(engines: dict) -> dict:
    return {(name, r["clip"], r["beam_size"]): r for name, e in engines.items() for r in e["rows"]}


def common_clips(engines: dict) -> list[str]:
    """Clips every engine transcribed (the native run reads WAV only)."""
    sets = [{r["clip"] for r in e["rows"]} for e in engines.values()]
    ordered = [r["clip"] for r in engines[VOX_HTTP]["rows"]]
    return [c for c in dict.fromkeys(ordered) if all(c in s for s in sets)]


def total_wall(engines: dict, engine: str, beam: int, clips: list[str]) -> float | None:
    if engine not in engines:
        return None
    index = asr_index(engines)
    return sum(index[(engine, c, beam)]["wall_s"] for c in clips)


def asr_time_cell(row: dict | None) -> str:
    return f"{fmt(row['wall_s'])} ({fmt(row['rtf'], 3)})" if row else "–"


def asr_timing_table(asr: dict) -> list[str]:
    engines, beams = asr["engines"], asr["beams"]
    index = asr_index(engines)
    clips = list(dict.fromkeys(r["clip"] for r in engines[VOX_HTTP]["rows"]))
    names = asr_engines(engines)
    rows = []
    for beam in beams:
        for clip in clips:
            cells = {e: index.get((e, clip, beam)) for e in ASR_ENGINES}
            wall = {e: (c["wall_s"] if c else None) for e, c in cells.items()}
            audio = cells[VOX_HTTP]["audio_s"]
            rows.append([clip, str(beam), fmt(audio, 1)] + [asr_time_cell(cells[e]) for e in names]
                        + [fmt(ratio(wall[VOX_HTTP], wall[FW_INT8])), fmt(ratio(wall[VOX_WASM], wall[FW_INT8])),
                           fmt(ratio(wall[VOX_HTTP_F32], wall[FW_F32]))])
        common = common_clips(engines)
        totals = {e: total_wall(engines, e, beam, common) for e in ASR_ENGINES}
        rows.append([f"**total, WAV clips**", str(beam), ""] + [f"**{fmt(totals[e])}**" for e in names]
                    + [f"**{fmt(ratio(totals[VOX_HTTP], totals[FW_INT8]))}**",
                       f"**{fmt(ratio(totals[VOX_WASM], totals[FW_INT8]))}**",
                       f"**{fmt(ratio(totals[VOX_HTTP_F32], totals[FW_F32]))}**"])
    header = ["clip", "beam", "audio s"] + [f"{e} s (RTF)" for e in names] + \
             ["vox up ÷ fw int8", "in-component ÷ fw int8", "vox up float32 ÷ fw float32"]
    return table(header, rows)


def total_cpu(engines: dict, engine: str, beam: int, clips: list[str]) -> float | None:
    index = asr_index(engines)
    values = [index[(engine, c, beam)].get("cpu_s") for c in clips]
    return None if any(v is None for v in values) else sum(values)


def asr_cpu_table(asr: dict) -> list[str]:
    """CPU seconds over the common clips: on a shared machine they move less than wall time."""
    engines, common = asr["engines"], common_clips(asr["engines"])
    rows = []
    for beam in asr["beams"]:
        names = asr_engines(engines)
        cpu = {e: total_cpu(engines, e, beam, common) for e in names}
        rows.append([str(beam)] + [fmt(cpu[e]) for e in names]
                    + [fmt(ratio(cpu[VOX_HTTP], cpu[FW_INT8])), fmt(ratio(cpu.get(VOX_WASM), cpu[FW_INT8]))])
    header = ["beam"] + [f"{e} CPU s" for e in asr_engines(engines)] + \
             ["vox up ÷ int8 (CPU)", "in-component ÷ int8 (CPU)"]
    return table(header, rows)


def aggregate_wer(rows: list[dict], beam: int, clips: list[str]) -> float:
    """The rows' errors over their reference words (bench/wer.py counts both), as jiwer scores a list."""
    chosen = [r for r in rows if r["beam_size"] == beam and r["clip"] in clips]
    return sum(r["word_errors"] for r in chosen) / max(sum(r["reference_words"] for r in chosen), 1)


def same_text_as(asr: dict, engine: str, reference: str) -> str:
    """How many of the engine's transcripts equal the reference engine's, character for character."""
    index = asr_index(asr["engines"])
    pairs = [(r["text"], index.get((reference, r["clip"], r["beam_size"]))) for r in asr["engines"][engine]["rows"]]
    pairs = [(text, other["text"]) for text, other in pairs if other]
    return f"{sum(a == b for a, b in pairs)}/{len(pairs)}"


def asr_engine_table(asr: dict) -> list[str]:
    rows = []
    common = common_clips(asr["engines"])
    for name in asr_engines(asr["engines"]):
        engine = asr["engines"][name]
        load = engine.get("load_s", engine.get("first_request_s"))
        rows.append([name] + [f"{100 * aggregate_wer(engine['rows'], b, common):.1f} %" for b in asr["beams"]]
                    + [same_text_as(asr, name, FW_F32), fmt(load), mib(engine["peak_rss_kb"])])
    header = ["engine"] + [f"WER beam {b}" for b in asr["beams"]] + \
             ["transcripts identical to float32", "load / first request s", "peak RSS MiB"]
    return table(header, rows)


def tts_vox_engines(tts: dict) -> list[str]:
    """The Vox engines a run measured: native (wasi:nn) first; runs before it had only one."""
    return [e for e in (TTS_NATIVE, TTS_IN_COMPONENT) if e in tts["engines"]]


def tts_table(tts: dict) -> list[str]:
    piper = tts["engines"]["piper-tts"]["rows"]
    rows = []
    for engine in tts_vox_engines(tts):
        vox = tts["engines"][engine]["rows"]
        for name in vox:
            v, p = vox[name], piper[name]
            rows.append([engine, name, f"{fmt(v['audio_s'], 1)} / {fmt(p['audio_s'], 1)}",
                         fmt(v["first_audio_s"], 3), fmt(v["total_s"]), fmt(v["rtf"], 3),
                         fmt(p["first_audio_s"], 3), fmt(p["total_s"]), fmt(p["rtf"], 3),
                         fmt(ratio(v["first_audio_s"], p["total_s"])), fmt(ratio(v["rtf"], p["rtf"]))])
    header = ["engine", "text", "audio s (vox / piper)", "vox first audio s", "vox total s", "vox RTF",
              "piper first chunk s", "piper total s", "piper RTF", "vox first audio ÷ piper total",
              "vox RTF ÷ piper RTF"]
    return table(header, rows)


def tts_memory_table(tts: dict) -> list[str]:
    piper = tts["engines"]["piper-tts"]
    rows = []
    for engine in tts_vox_engines(tts):
        vox = tts["engines"][engine]
        warm = vox.get("warm_request_s")
        rows.append([f"{engine}, whole server", fmt(vox["first_request_s"]), fmt(warm) if warm else "–",
                     mib(vox["peak_rss_kb"])])
    rows.append(["piper-tts", fmt(piper["load_s"]), "–", mib(piper["peak_rss_kb"])])
    return table(["engine", "load / first request s", "the same request again s", "peak RSS MiB"], rows)


def agreement_table(tts: dict) -> list[str]:
    return table(["text (noise 0)", "correlation", "duration difference", "agreeing from the start (1 s windows, r ≥ 0.95)"],
                 [[name, fmt(a["correlation"], 4), f"{a['duration_difference_percent']:+.2f} %",
                   f"{a['agreeing_prefix_s']:.1f} s of {a['piper_samples'] / a['sample_rate']:.1f} s"]
                  for name, a in tts["agreement"].items()])


def e2e_table(service: dict) -> list[str]:
    return table(["clip", "audio in s", "status", "first audio s", "total s", "audio out s"],
                 [[r["clip"], fmt(r["audio_in_s"], 1), str(r["status"]), fmt(r["first_audio_s"]),
                   fmt(r["total_s"]), fmt(r["audio_out_s"], 1)] for r in service["e2e"]["rows"]])


def service_table(result: dict) -> list[str]:
    service = result["service"]
    fresh = service["fresh_instance"]
    health = service["health"]
    starts = [result[part]["engines"][VOX_HTTP]["startup_s"] for part in ("asr", "tts") if part in result]
    starts += [service["startup_s"], service["fresh_startup_s"]]
    rows = [
        ["cold start → first 200 on /health (compiled cache "
         f"{'warm' if result['compiled_cache_warm'] else 'cold'})", ", ".join(f"{s:.2f} s" for s in starts)],
        ["first ASR request on a fresh instance (jfk, beam 5)", ", ".join(f"{s:.2f} s" for s in fresh["asr_s"])],
        ["first TTS request on a fresh instance (sentence)", ", ".join(f"{s:.2f} s" for s in fresh["tts_s"])],
        [f"warm `GET /health`, kept-alive, {health['requests']} requests",
         f"p50 {health['p50_ms']:.2f} ms, p99 {health['p99_ms']:.2f} ms"],
        ["peak RSS of the service run (all routes)", f"{mib(service['peak_rss_kb'])} MiB"],
    ]
    return table(["measure", "value"], rows)


def throughput_table(service: dict, key: str, server: str = "vox") -> list[str]:
    rows = []
    for kind, label in (("asr", "ASR jfk beam 5"), ("tts", "TTS sentence")):
        for r in service[key][kind]:
            rows.append([label, str(r["clients"]), str(r["requests"]), fmt(r["requests_per_s"]),
                         fmt(r["p50_s"]), fmt(r["p99_s"]), str(r["errors"]), fmt(r.get("server_cores_busy"))])
    return table(["workload", "clients", "requests", "req/s", "p50 s", "p99 s", "errors", f"{server} CPU (cores)"],
                 rows)


def spin_tables(spin: dict) -> list[str]:
    lines = [f"`{spin['version']}`, the same `spin.toml` (`--direct-mounts`). Throughput as above:", ""]
    for name, setting in spin["settings"].items():
        flags = " ".join(setting["flags"]) or "no flags: up to 16 concurrent requests per instance"
        lines += [f"{name} ({flags}; startup {setting['startup_s']:.1f} s, peak RSS "
                  f"{mib(setting['peak_rss_kb'])} MiB):", ""]
        lines += throughput_table(setting, "throughput", "spin") + [""]
    return lines


def verdict(met: bool | None) -> str:
    return "–" if met is None else ("met" if met else "**not met**")


def asr_targets(asr: dict) -> list[Target]:
    out = []
    common = common_clips(asr["engines"])
    for beam in asr["beams"]:
        fw = total_wall(asr["engines"], FW_INT8, beam, common)
        native = ratio(total_wall(asr["engines"], VOX_HTTP, beam, common), fw)
        wasm = ratio(total_wall(asr["engines"], VOX_WASM, beam, common), fw)
        if wasm is not None:
            out.append(Target(f"ASR in-component (vox up --inference wasm, int8) ≤ 2× faster-whisper int8 time, "
                              f"beam {beam}", f"{wasm:.2f}×", wasm <= 2))
        out.append(Target(f"ASR native (vox up, wasi:nn, int8) ≤ 1× faster-whisper int8 time, beam {beam}",
                          f"{native:.2f}×", native <= 1))
    return out


# RTF over piper-tts's, per place the voice runs: natively through wasi:nn (issue 13) and
# inside the component (issue 12).
TTS_RTF_TARGETS = {TTS_NATIVE: ("native, wasi:nn", 1.0), TTS_IN_COMPONENT: ("in-component", 2.0)}
# The first request after start over the same request warm, natively (the graph cache filling).
TTS_FIRST_REQUEST_TARGET_S = 0.5


def tts_targets(tts: dict) -> list[Target]:
    out = []
    vox, piper = tts["engines"][TTS_NATIVE]["rows"], tts["engines"]["piper-tts"]["rows"]
    first, whole = vox["paragraph"]["first_audio_s"], piper["paragraph"]["total_s"]
    out.append(Target("TTS first audio on the paragraph ≤ piper-tts whole-utterance time",
                      f"{first:.3f} s vs {whole:.3f} s", first <= whole))
    for engine in tts_vox_engines(tts):
        label, limit = TTS_RTF_TARGETS[engine]
        rows = tts["engines"][engine]["rows"]
        for name in rows:
            r = ratio(rows[name]["rtf"], piper[name]["rtf"])
            out.append(Target(f"TTS RTF {label} ≤ {limit:g}× piper-tts ({name})", f"{r:.2f}×", r <= limit))
    native = tts["engines"][TTS_NATIVE]
    if native.get("warm_request_s") is not None:
        extra = native["first_request_s"] - native["warm_request_s"]
        out.append(Target(f"TTS native: first request after start ≤ {TTS_FIRST_REQUEST_TARGET_S:g} s over a warm one",
                          f"+{extra:.2f} s", extra <= TTS_FIRST_REQUEST_TARGET_S))
    return out


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def fresh_penalty_ms(latency: dict, kind: str, measure: str = "total_s") -> float:
    rows = latency[kind]
    return (median(rows[f"fresh_{measure}"]) - median(rows[f"warm_{measure}"])) * 1000


def memory_ratio(memory: dict, kind: str, key: str = "pss_kb") -> float:
    return memory[kind]["instances_4"][key] / memory[kind]["instances_1"][key]


def preinit_targets(preinit: dict) -> list[Target]:
    out = []
    for kind in ("asr", "tts"):
        penalty = fresh_penalty_ms(preinit["latency"]["preinit"], kind)
        out.append(Target(f"pre-initialised {kind}: a fresh instance answers within 100 ms of a warm one",
                          f"+{penalty:.0f} ms", penalty <= 100))
    r = memory_ratio(preinit["memory"]["preinit"], "asr")
    out.append(Target("pre-initialised asr: 4 concurrent instances ≤ 1.5× the memory of one (process PSS)",
                      f"{r:.2f}×", r <= 1.5))
    if "wasi-nn" in preinit["memory"]:
        r = memory_ratio(preinit["memory"]["wasi-nn"], "asr")
        out.append(Target("native inference (wasi:nn) asr: 4 concurrent requests ≤ 1.2× the memory of one "
                          "(process PSS)", f"{r:.2f}×", r <= 1.2))
        for kind in ("asr", "tts"):
            penalty = fresh_penalty_ms(preinit["latency"]["wasi-nn"], kind)
            out.append(Target(f"native inference (wasi:nn) {kind}: a fresh instance, no snapshot, answers within "
                              f"500 ms of a warm one", f"+{penalty:.0f} ms", penalty <= 500))
    return out


# Time to first output on a long clip, as a share of the whole transcription's time.
STREAMING_SHARE_TARGET = 0.35


def streaming_targets(streaming: dict) -> list[Target]:
    whole = streaming["asr_total_s"]
    out = []
    for what, key in (("first transcript segment (`/api/asr` NDJSON)", "first_segment_s"),
                      ("first end-to-end audio byte (`/api/e2e`)", "e2e_first_audio_s")):
        share = streaming[key] / whole
        out.append(Target(f"{what} ≤ {STREAMING_SHARE_TARGET}× the whole `/api/asr` time "
                          f"({streaming['clip']}, {streaming['audio_s']:.0f} s)",
                          f"{share:.2f}× ({streaming[key]:.2f} s of {whole:.2f} s)",
                          share <= STREAMING_SHARE_TARGET))
    return out


def streaming_table(streaming: dict) -> list[str]:
    whole = streaming["asr_total_s"]
    rows = [["whole transcript, one JSON (`/api/asr`)", fmt(whole), "1.00"],
            ["first segment line (`/api/asr`, NDJSON)", fmt(streaming["first_segment_s"]),
             fmt(streaming["first_segment_s"] / whole)],
            ["last NDJSON line", fmt(streaming["streamed_asr_total_s"]),
             fmt(streaming["streamed_asr_total_s"] / whole)],
            ["first audio byte (`/api/e2e`)", fmt(streaming["e2e_first_audio_s"]),
             fmt(streaming["e2e_first_audio_s"] / whole)],
            ["whole spoken answer (`/api/e2e`)", fmt(streaming["e2e_total_s"]),
             fmt(streaming["e2e_total_s"] / whole)]]
    return table(["on " + streaming["clip"] + f" ({streaming['audio_s']:.0f} s)", "seconds", "share of whole"], rows)


def targets(result: dict) -> list[Target]:
    out = []
    if "asr" in result:
        out += asr_targets(result["asr"])
    if "tts" in result:
        out += tts_targets(result["tts"])
    if "preinit" in result:
        out += preinit_targets(result["preinit"])
    if "streaming" in result:
        out += streaming_targets(result["streaming"])
    return out


def targets_table(result: dict) -> list[str]:
    return table(["target", "measured", "verdict"],
                 [[t["target"], t["measured"], verdict(t["met"])] for t in result["targets"]])


def header_lines(result: dict) -> list[str]:
    m, v = result["machine"], result["versions"]
    return [
        f"Run {result['started_utc']} ({result['mode']} mode, {result['elapsed_s']:.0f} s): `{result['command']}`",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"load average {result['load_before']} before, {result['load_after']} after",
        f"- Vox {v['vox_commit']}, {v['rustc']}; faster-whisper {v['faster-whisper']} "
        f"(CTranslate2 {v['ctranslate2']}), piper-tts {v['piper-tts']} (onnxruntime {v['onnxruntime']}); "
        f"WER by jiwer {v['jiwer']} with whisper-normalizer {v['whisper-normalizer']}",
        f"- Reference tools limited to {result['threads']} thread(s) (faster-whisper `cpu_threads`, "
        "onnxruntime `intra_op_num_threads`); Vox runs each request on one thread",
    ]


def latency_modes(preinit: dict) -> list[str]:
    """The builds a run measured for latency and memory: lazy and pre-initialised (portable), and
    the wasi:nn builds, which have no snapshot."""
    return [m for m in ("lazy", "preinit", "wasi-nn") if m in preinit["latency"]]


def preinit_tables(preinit: dict) -> list[str]:
    sizes, compile_ = preinit["sizes"], preinit["compile"]
    rows = []
    for kind in ("asr", "tts"):
        for mode in ("lazy", "preinit"):
            c = compile_[mode]
            rows.append([kind, mode, fmt(sizes[kind][f"{mode}_mb"], 0),
                         fmt(c["no_cache"][kind]["ms"] / 1000, 1),
                         f"{c['cached'][kind]['ms']} ({c['cached'][kind]['outcome'].lower()})"])
    lines = table(["component", "build", "size MB", "compile s (no cache)", "load ms (cache)"], rows)
    rows = []
    for kind, label in (("asr", "ASR jfk beam 1, total"), ("tts", "TTS sentence, first byte")):
        measure = "total_s" if kind == "asr" else "first_byte_s"
        for mode in latency_modes(preinit):
            r = preinit["latency"][mode][kind]
            rows.append([label, mode, ", ".join(fmt(v) for v in r[f"fresh_{measure}"]),
                         ", ".join(fmt(v) for v in r[f"warm_{measure}"]),
                         f"+{fresh_penalty_ms(preinit['latency'][mode], kind, measure):.0f} ms"])
    lines += ["", "First request on a fresh instance (idle timeout 1 s, 2 s pause) against the same request "
              "repeated at once on that instance, seconds:", ""]
    lines += table(["request", "build", "fresh", "warm", "fresh − warm (median)"], rows)
    rows = []
    for kind in ("asr", "tts"):
        for mode in latency_modes(preinit):
            m = preinit["memory"][mode][kind]
            one, four = m["instances_1"], m["instances_4"]
            rows.append([kind, mode, mib(m["idle"]["pss_kb"]), mib(one["pss_kb"]), mib(four["pss_kb"]),
                         fmt(four["pss_kb"] / one["pss_kb"]), mib(one["rss_kb"]), mib(four["rss_kb"])])
    lines += ["", "Memory of the whole `vox up` process (`--max-instance-concurrency 1`, so concurrent requests "
              "get their own instances), MiB, read a second after start-up and after the requests end (the "
              "instances still live). PSS counts a page shared by several instances once; RSS counts "
              "it once per instance mapping it:", ""]
    lines += table(["component", "build", "PSS idle", "PSS 1 instance", "PSS 4 instances", "4 / 1",
                    "RSS 1", "RSS 4"], rows)
    return lines


def render(result: dict) -> str:
    sections = [["# Vox benchmark", ""] + header_lines(result), ["## Targets", ""] + targets_table(result)]
    if "asr" in result:
        asr = result["asr"]
        sections += [
            ["## ASR — whisper tiny.en, wall seconds (real-time factor)", ""] + asr_timing_table(asr),
            ["", "CPU seconds over the WAV clips (each engine's process; vox up: the whole server), "
             "steadier than wall time when other work shares the cores:", ""] + asr_cpu_table(asr),
            ["", "Accuracy (WER over the WAV clips, after Whisper's English text normaliser), load "
             "(Vox through vox up: its first request) and peak memory (vox up: the whole server):", ""]
            + asr_engine_table(asr),
        ]
    if "tts" in result:
        sections += [
            ["## TTS — en_US-joe-medium, voice default noise settings", ""] + tts_table(result["tts"]),
            [""] + tts_memory_table(result["tts"]),
            ["", "Waveform agreement with piper-tts (noise_scale = noise_w = 0):", ""]
            + agreement_table(result["tts"]),
        ]
    if "service" in result:
        sections += [
            ["## End to end — `/api/e2e` (audio → transcript → streamed speech)", ""] + e2e_table(result["service"]),
            ["## Service", ""] + service_table(result),
            ["", "Throughput (concurrent clients, each on its own kept-alive connection), default "
             "`--max-instance-concurrency 16` (concurrent requests share one instance):", ""]
            + throughput_table(result["service"], "throughput"),
            ["", "The same with `--max-instance-concurrency 1` (one request per instance, instances warmed "
             f"first; peak RSS {mib(result['service']['one_per_instance_peak_rss_kb'])} MiB):", ""]
            + throughput_table(result["service"], "throughput_one_per_instance"),
        ]
    if "preinit" in result:
        sections += [["## Pre-initialised components (`vox preinit`) against lazy ones", ""]
                     + preinit_tables(result["preinit"])]
    if "spin" in result:
        sections += [["## Under Spin (`spin up`)", ""] + spin_tables(result["spin"])]
    if "streaming" in result:
        sections += [["## Streaming — time to first output on a long recording", ""]
                     + streaming_table(result["streaming"])]
    return "\n".join("\n".join(s) + "\n" for s in sections)
