"""Pre-initialised components (the `vox preinit` snapshots spin.toml ships) against the same
components initialising lazily: size, compile time, the first request on a fresh instance, and
memory with one and four concurrent instances."""

import logging
import re
import threading
import time
from pathlib import Path

from bench.clips import Clip
from bench.records import (CompileRun, ComponentMemory, ComponentReady, ComponentSizes, FreshAndWarm,
                           InstancesMemory, PreinitPart)
from bench.server import VoxServer
from bench.service_bench import asr_request, tts_request

COMPONENTS = ("asr", "tts")
FRESH_ROUNDS = 5
# Longer than the 1 s idle timeout (Spin's), so the next request meets a new instance.
IDLE_PAUSE_S = 2.0
READY_LINE = re.compile(r"component ready component=(\w+) outcome=(\w+) ms=(\d+)")

log = logging.getLogger(__name__)


def lazy_manifest(root: Path, out_dir: Path) -> Path:
    """spin.toml with asr and tts switched to their plain builds, paths made absolute."""
    text = (root / "spin.toml").read_text()
    lazy = text.replace('"target/preinit/', '"target/wasm32-wasip2/release/')
    if lazy == text:
        raise RuntimeError("spin.toml no longer names pre-initialised components")
    path = out_dir / "lazy-spin.toml"
    path.write_text(lazy.replace('source = "', f'source = "{root}/'))
    return path


def sizes(root: Path) -> dict[str, ComponentSizes]:
    out = {}
    for c in COMPONENTS:
        plain = root / f"target/wasm32-wasip2/release/vox_{c}.wasm"
        snapshot = root / f"target/preinit/vox_{c}.wasm"
        out[c] = ComponentSizes(lazy_mb=plain.stat().st_size / 1e6, preinit_mb=snapshot.stat().st_size / 1e6)
    return out


def compile_times(server: VoxServer) -> dict[str, ComponentReady]:
    """Per-component compile (or cache load) time, from vox's startup log."""
    text = (server.log_dir / f"vox-{server.port}.log").read_text()
    return {m[1]: ComponentReady(outcome=m[2], ms=int(m[3])) for m in READY_LINE.finditer(text)}


def fresh_and_warm(server: VoxServer, clip: Clip) -> dict[str, FreshAndWarm]:
    """Each round: a pause past the idle timeout (the next request gets a new instance), then
    the same request again at once (on that now warm instance)."""
    out = {}
    for kind, request in (("asr", asr_request(clip, beam_size=1)), ("tts", tts_request())):
        rows = FreshAndWarm()
        for _ in range(FRESH_ROUNDS):
            time.sleep(IDLE_PAUSE_S)
            for total, first_byte in ((rows.fresh_total_s, rows.fresh_first_byte_s),
                                      (rows.warm_total_s, rows.warm_first_byte_s)):
                response = server.request(*request)
                ok = response.status == 200
                total.append(response.total_s if ok else float("nan"))
                first_byte.append(response.first_byte_s if ok else float("nan"))
        out[kind] = rows
    return out


def concurrent(server: VoxServer, request: tuple, clients: int) -> list[int]:
    statuses = []

    def one() -> None:
        statuses.append(server.request(*request).status)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


# Memory is read this long after the requests end (and after start-up): `vox up` hands its
# heap's freed pages back to the system once inference has been quiet for 0.25 s
# (host/src/runtime/nn/trim.rs), so what is read is what the process holds, not what it freed.
SETTLE_S = 1.0


def instances_memory(server: VoxServer, request: tuple, instances: int) -> InstancesMemory:
    statuses = concurrent(server, request, instances)
    time.sleep(SETTLE_S)
    now = server.memory_kb
    return InstancesMemory(rss_kb=now.rss_kb, pss_kb=now.pss_kb, statuses=statuses)


def memory(root: Path, log_dir: Path, manifest: Path, flags: tuple[str, ...], kind: str,
           clip: Clip) -> ComponentMemory:
    """Process memory idle, then with 1 and with 4 live instances of `kind` (one request each
    at once; `--max-instance-concurrency 1` gives every concurrent request its own instance)."""
    request = asr_request(clip, beam_size=1) if kind == "asr" else tts_request()
    flags = (*flags, "--max-instance-concurrency", "1")
    with VoxServer(root, log_dir, manifest=manifest, extra_flags=flags) as server:
        time.sleep(SETTLE_S)
        idle = server.memory_kb
        one = instances_memory(server, request, 1)
        four = instances_memory(server, request, 4)
    return ComponentMemory(idle=idle, instances_1=one, instances_4=four)


def run_preinit(root: Path, results: Path, clips: list[Clip], clip_name: str) -> PreinitPart:
    clip = next(c for c in clips if c.name == clip_name)
    log_dir = results / "logs"
    # Snapshots are the portable components' (what Spin runs); the wasi:nn builds `vox up` runs
    # by default have none, their graphs prepared by the host at start and shared.
    wasm = ("--inference", "wasm")
    modes = {"preinit": (root / "spin.toml", wasm), "lazy": (lazy_manifest(root, results), wasm),
             "wasi-nn": (root / "spin.toml", ())}
    out = PreinitPart(sizes=sizes(root), compile={}, latency={}, memory={})
    for mode, (manifest, flags) in modes.items():
        if mode != "wasi-nn":
            log.info("preinit: %s components, filling the compiled-code cache", mode)
            with VoxServer(root, log_dir, manifest=manifest, extra_flags=flags):
                pass
            log.info("preinit: %s components, compile without cache", mode)
            with VoxServer(root, log_dir, manifest=manifest, extra_flags=(*flags, "--no-cache")) as server:
                no_cache, no_cache_startup_s = compile_times(server), server.startup_s
        log.info("preinit: %s components, fresh instances (idle timeout 1 s)", mode)
        with VoxServer(root, log_dir, manifest=manifest, idle_instance_timeout="1s", extra_flags=flags) as server:
            if mode != "wasi-nn":
                out.compile[mode] = CompileRun(no_cache=no_cache, startup_s=no_cache_startup_s,
                                               cached=compile_times(server))
            out.latency[mode] = fresh_and_warm(server, clip)
        out.memory[mode] = {}
        for kind in COMPONENTS:
            log.info("preinit: %s %s, memory with 1 and 4 instances", mode, kind)
            out.memory[mode][kind] = memory(root, log_dir, manifest, flags, kind, clip)
    return out
