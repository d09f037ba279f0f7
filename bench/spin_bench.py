"""Vox under the real Spin (`spin up`): concurrent ASR and TTS with Spin's default instance reuse
(one instance takes up to 16 requests at once) and with one request per instance
(`--max-instance-concurrent-reuse-count 1`), the setting docs/deploy.md recommends.

The Spin CLI is `target/spin/spin`, unpacked from `../shared/tools/spin.xz` beside the checkout
(as the app tests do, tests/src/spin.rs) or named by `VOX_SPIN`; without one the part is skipped.
"""

import logging
import lzma
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.clips import Clip
from bench.records import ProcessMemory, SpinPart, SpinSetting
from bench.server import HOST, VoxServer, cpu_seconds, memory_kb, peak_rss_kb
from bench.service_bench import THROUGHPUT_CLIP, bench_throughput

# Spin's flag for concurrent requests per instance, and the settings compared.
ONE_PER_INSTANCE = ("--max-instance-concurrent-reuse-count", "1")
SETTINGS = {"default": (), "one request per instance": ONE_PER_INSTANCE}

log = logging.getLogger(__name__)


def spin_cli(root: Path) -> Path | None:
    if os.environ.get("VOX_SPIN"):
        return Path(os.environ["VOX_SPIN"])
    spin, packed = root / "target/spin/spin", root.parent / "shared/tools/spin.xz"
    if not spin.exists() or (packed.exists() and packed.stat().st_mtime > spin.stat().st_mtime):
        if not packed.exists():
            return None
        spin.parent.mkdir(parents=True, exist_ok=True)
        partial = spin.with_suffix(".partial")
        with lzma.open(packed) as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        partial.chmod(0o755)
        partial.rename(spin)
    return spin


@dataclass
class SpinServer(VoxServer):
    """`spin up` on the same manifest, model directories mounted in place."""

    cli: Path = Path("spin")
    name = "spin"

    @property
    def trigger_pid(self) -> int:
        """`spin up` runs the app in a child process (`spin trigger http`): measure that one."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return int(children[0]) if children else self.process.pid

    @property
    def memory_kb(self) -> ProcessMemory:
        return memory_kb(self.trigger_pid)

    @property
    def peak_rss_kb(self) -> int:
        return peak_rss_kb(self.trigger_pid)

    @property
    def cpu_seconds(self) -> float:
        return cpu_seconds(self.trigger_pid)

    def command(self) -> list[str]:
        return [
            str(self.cli), "up",
            "-f", str(self.manifest or self.root / "spin.toml"),
            "--listen", f"{HOST}:{self.port}",
            "--direct-mounts",
            "--idle-instance-timeout", self.idle_instance_timeout,
            "--log-dir", str(self.log_dir),
            *self.extra_flags,
        ]


def run_spin(root: Path, results: Path, clips: list[Clip]) -> SpinPart | None:
    cli = spin_cli(root)
    if cli is None:
        log.warning("spin: skipped, no Spin CLI (../shared/tools/spin.xz or VOX_SPIN)")
        return None
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True).stdout.strip()
    clip = next(c for c in clips if c.name == THROUGHPUT_CLIP)
    settings = {}
    for name, flags in SETTINGS.items():
        log.info("spin up, %s", name)
        with SpinServer(root, results / "logs", extra_flags=flags, cli=cli) as server:
            throughput = bench_throughput(server, clip, warm_up=bool(flags))
            settings[name] = SpinSetting(flags=list(flags), startup_s=server.startup_s, throughput=throughput,
                                         peak_rss_kb=server.peak_rss_kb)
    return SpinPart(version=version, settings=settings)
