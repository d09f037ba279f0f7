"""Facts about the machine and the software versions, recorded with every run."""

import os
import subprocess
from importlib import metadata
from pathlib import Path

from bench.records import Machine

# Python packages whose versions a run records: the reference tools, their runtimes, the WER libraries.
PACKAGES = ("faster-whisper", "ctranslate2", "piper-tts", "onnxruntime", "jiwer", "whisper-normalizer")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def command_output(command: list[str], cwd: Path) -> str:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def vox_commit(root: Path) -> str:
    commit = command_output(["git", "rev-parse", "--short=12", "HEAD"], root)
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no"], root)
    return f"{commit}{' (working tree modified)' if dirty and dirty != 'unknown' else ''}"


def machine_facts() -> Machine:
    return Machine(cpu=cpu_model(), cores=os.cpu_count(), memory_gib=round(memory_gib(), 1),
                   kernel=os.uname().release)


def versions(root: Path) -> dict[str, str]:
    """Vox's toolchain and commit, then the packages of the venv the bench runs in."""
    return {"rustc": command_output(["rustc", "--version"], root), "vox_commit": vox_commit(root),
            **{name: metadata.version(name) for name in PACKAGES}}
