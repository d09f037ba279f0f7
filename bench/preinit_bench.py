"""Pre-initialised components (the `vox preinit` snapshots spin.toml ships) against the same
components initialising lazily: size, compile time, the first request on a fresh instance, and
memory with one and four concurrent instances."""

import re
import sys
import threading
import time
from pathlib import Path

from clips import Clip
from server import VoxServer
from service_bench import asr_request, tts_request

COMPONENTS = ("asr", "tts")
FRESH_ROUNDS = 5
# Longer than the 1 s idle timeout (Spin's), so the next request meets a new instance.
IDLE_PAUSE_S = 2.0
MEMORY_INSTANCES = (1, 4)
READY_LINE = re.compile(r"component ready component=(\w+) outcome=(\w+) ms=(\d+)")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def lazy_manifest(root: Path, out_dir: Path) -> Path:
    """spin.toml with asr and tts switched to their plain builds, paths made absolute."""
    text = (root / "spin.toml").read_text()
    lazy = text.replace('"target/preinit/', '"target/wasm32-wasip2/release/')
    if lazy == text:
        raise RuntimeError("spin.toml no longer names pre-initialised components")
    path = out_dir / "lazy-spin.toml"
    path.write_text(lazy.replace('source = "', f'source = "{root}/'))
    return path


def sizes(root: Path) -> dict:
    out = {}
    for c in COMPONENTS:
        plain = root / f"target/wasm32-wasip2/release/vox_{c}.wasm"
        snapshot = root / f"target/preinit/vox_{c}.wasm"
        out[c] = {"lazy_mb": plain.stat().st_size / 1e6, "preinit_mb": snapshot.stat().st_size / 1e6}
    return out


def compile_times(server: VoxServer) -> dict:
    """Per-component compile (or cache load) time, from vox's startup log."""
    text = (server.log_dir / f"vox-{server.port}.log").read_text()
    return {m[1]: {"outcome": m[2], "ms": int(m[3])} for m in READY_LINE.finditer(text)}


def fresh_and_warm(server: VoxServer, clip: Clip) -> dict:
    """Each round: a pause past the idle timeout (the next request gets a new instance), then
    the same request again at once (on that now warm instance)."""
    out = {}
    for kind, request in (("asr", asr_request(clip, beam_size=1)), ("tts", tts_request())):
        rows = {"fresh_total_s": [], "warm_total_s": [], "fresh_first_byte_s": [], "warm_first_byte_s": []}
        for _ in range(FRESH_ROUNDS):
            time.sleep(IDLE_PAUSE_S)
            for label in ("fresh", "warm"):
                response = server.request(*request)
                ok = response.status == 200
                rows[f"{label}_total_s"].append(response.total_s if ok else float("nan"))
                rows[f"{label}_first_byte_s"].append(response.first_byte_s if ok else float("nan"))
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


def memory(root: Path, log_dir: Path, manifest: Path, kind: str, clip: Clip) -> dict:
    """Process memory idle, then with 1 and with 4 live instances of `kind` (one request each
    at once; `--max-instance-concurrency 1` gives every concurrent request its own instance)."""
    request = asr_request(clip, beam_size=1) if kind == "asr" else tts_request()
    flags = ("--max-instance-concurrency", "1")
    out = {}
    with VoxServer(root, log_dir, manifest=manifest, extra_flags=flags) as server:
        out["idle"] = server.memory_kb
        for instances in MEMORY_INSTANCES:
            statuses = concurrent(server, request, instances)
            out[f"instances_{instances}"] = {**server.memory_kb, "statuses": statuses}
    return out


def run_preinit(root: Path, results: Path, clips: list[Clip], clip_name: str) -> dict:
    clip = next(c for c in clips if c.name == clip_name)
    log_dir = results / "logs"
    manifests = {"preinit": root / "spin.toml", "lazy": lazy_manifest(root, results)}
    out = {"sizes": sizes(root), "compile": {}, "latency": {}, "memory": {}}
    for mode, manifest in manifests.items():
        log(f"preinit: {mode} components, filling the compiled-code cache")
        with VoxServer(root, log_dir, manifest=manifest):
            pass
        log(f"preinit: {mode} components, compile without cache")
        with VoxServer(root, log_dir, manifest=manifest, extra_flags=("--no-cache",)) as server:
            out["compile"][mode] = {"no_cache": compile_times(server), "startup_s": server.startup_s}
        log(f"preinit: {mode} components, fresh instances (idle timeout 1 s)")
        with VoxServer(root, log_dir, manifest=manifest, idle_instance_timeout="1s") as server:
            out["compile"][mode]["cached"] = compile_times(server)
            out["latency"][mode] = fresh_and_warm(server, clip)
        for kind in COMPONENTS:
            log(f"preinit: {mode} {kind}, memory with 1 and 4 instances")
            out["memory"].setdefault(mode, {})[kind] = memory(root, log_dir, manifest, kind, clip)
    return out
