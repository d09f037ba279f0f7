"""Relaxed SIMD's effect on synthesis: the tts component as shipped (`+simd128,+relaxed-simd`,
.cargo/config.toml) against the same component built with `+simd128` only, and piper-tts, in one run.

  python3 -m bench.relaxed_simd      (after `make build models`; the bench venv has piper-tts)

Both builds run as plain components (the voice loads on the warm-up request), so the only
difference between them is the instruction set; the shipped snapshot runs too, for reference.
The `+simd128` build goes to target/simd128 (built here, cached by cargo after the first run).
Prints one line per engine and text and writes bench/results/relaxed-simd.json.
"""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from bench import tts_bench
from bench.reference_env import ensure_reference_tools, running_inside, venv_dir
from bench.server import VoxServer
from bench.texts import benchmark_texts
from bench.workspace import RESULTS_DIR, ROOT, missing_build_outputs

SHIPPED_SOURCE = 'source = "target/preinit/vox_tts.wasm"'
SIMD128_TARGET = "target/simd128"
# The shipped component, the same without relaxed SIMD, and the snapshot `make up` serves.
BUILDS = {
    "relaxed-simd": "target/wasm32-wasip2/release/vox_tts.wasm",
    "simd128": f"{SIMD128_TARGET}/wasm32-wasip2/release/vox_tts.wasm",
    "snapshot": "target/preinit/vox_tts.wasm",
}

log = logging.getLogger("bench")


def build_simd128() -> None:
    env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / SIMD128_TARGET),
               CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="-C target-feature=+simd128")
    log.info("building tts with +simd128 only (%s)", SIMD128_TARGET)
    subprocess.run(["cargo", "build", "--release", "--target", "wasm32-wasip2", "-p", "vox-tts"],
                   cwd=ROOT, env=env, check=True)


def manifest_for(source: str) -> str:
    manifest = (ROOT / "spin.toml").read_text()
    if SHIPPED_SOURCE not in manifest:
        raise RuntimeError(f"spin.toml no longer has `{SHIPPED_SOURCE}`")
    return manifest.replace(SHIPPED_SOURCE, f'source = "{source}"')


def rows(part) -> dict:
    return {name: {"total_s": r.total_s, "audio_s": r.audio_s, "rtf": r.rtf} for name, r in part.rows.items()}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
    missing = missing_build_outputs()
    if missing:
        sys.exit(f"missing {', '.join(missing)}; run `make build models` first")
    python = ensure_reference_tools()
    if not running_inside(venv_dir()):
        os.execv(python, [str(python), "-m", "bench.relaxed_simd", *sys.argv[1:]])
    build_simd128()
    results = RESULTS_DIR / "relaxed-simd"
    results.mkdir(parents=True, exist_ok=True)
    texts = benchmark_texts(False)
    settings = tts_bench.voice_defaults(ROOT)
    out = {}
    for name, source in BUILDS.items():
        manifest = ROOT / f".bench-{name}.toml"
        manifest.write_text(manifest_for(source))
        try:
            with VoxServer(ROOT, results / "logs", manifest=manifest) as server:
                out[name] = rows(tts_bench.bench_vox(server, texts, settings, results))
        finally:
            manifest.unlink()
    out["piper-tts"] = rows(tts_bench.bench_piper(ROOT, results, texts, settings, 1, results))
    for engine, by_text in out.items():
        for text, row in by_text.items():
            piper = out["piper-tts"][text]["rtf"]
            print(f"{engine:13} {text:10} RTF {row['rtf']:.3f}  {row['rtf'] / piper:.2f}x piper-tts")
    (RESULTS_DIR / "relaxed-simd.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
