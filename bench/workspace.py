"""Where the checkout and the results are, and which build outputs a run needs."""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
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


def missing_build_outputs() -> list[str]:
    return [p for p in REQUIRED_BUILD_OUTPUTS if not (ROOT / p).exists()]
