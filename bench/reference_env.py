"""The virtual environment the bench runs in: the pinned reference tools and the WER libraries,
created and installed on first use.

  python3 -m bench.reference_env    makes sure the venv is ready and prints its python
"""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

PINNED = {
    "faster-whisper": "1.2.1",
    "piper-tts": "1.8.0",
    "jiwer": "4.0.0",
    "whisper-normalizer": "0.1.15",
}

log = logging.getLogger(__name__)


def venv_dir() -> Path:
    override = os.environ.get("VOX_BENCH_VENV")
    return Path(override) if override else Path.home() / ".cache/vox/bench-venv"


def python_of(venv: Path) -> Path:
    return venv / "bin/python"


def running_inside(venv: Path) -> bool:
    return Path(sys.prefix).resolve() == venv.resolve()


def installed_versions(python: Path) -> dict[str, str]:
    script = ("import importlib.metadata as m, json, sys\n"
              "out = {}\n"
              "for n in sys.argv[1:]:\n"
              "    try: out[n] = m.version(n)\n"
              "    except m.PackageNotFoundError: pass\n"
              "print(json.dumps(out))")
    result = subprocess.run([str(python), "-c", script, *PINNED], capture_output=True, text=True)
    if result.returncode != 0:
        return {}
    return json.loads(result.stdout)


def ensure_reference_tools() -> Path:
    """Returns the venv's python, creating the venv and installing the pins when needed."""
    venv = venv_dir()
    python = python_of(venv)
    if python.exists() and installed_versions(python) == PINNED:
        return python
    if not python.exists():
        log.info("creating %s", venv)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = [f"{name}=={version}" for name, version in PINNED.items()]
    log.info("installing %s into %s", " ".join(pins), venv)
    subprocess.run([str(python), "-m", "pip", "install", "--progress-bar", "on", *pins],
                   check=True, stdout=sys.stderr)
    return python


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s")
    print(ensure_reference_tools())
