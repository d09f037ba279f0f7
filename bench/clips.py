"""The speech clips the benchmark transcribes: committed fixtures plus longer concatenations."""

import csv
import wave
from dataclasses import dataclass
from pathlib import Path

WHISPER_FIXTURES = Path("crates/whisper/tests/fixtures")
SHORT_CLIPS = [
    WHISPER_FIXTURES / "librispeech-test-clean-a.wav",
    WHISPER_FIXTURES / "librispeech-test-clean-b.wav",
    WHISPER_FIXTURES / "librispeech-test-clean-c.wav",
    WHISPER_FIXTURES / "jfk.wav",
    Path("tests/fixtures/jfk.flac"),
]
# Parts of the generated clips; the LibriSpeech three make ~29 s, four rounds of all four ~2.7 min.
HALF_MINUTE_PARTS = SHORT_CLIPS[:3]
LONG_PARTS = SHORT_CLIPS[:4] * 4
# The stdlib cannot read FLAC; jfk.flac's duration is that of the same recording as WAV.
SAME_RECORDING_AS_WAV = {"jfk.flac": WHISPER_FIXTURES / "jfk.wav"}
GAP_SECONDS = 0.5
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path  # absolute
    duration_s: float
    reference: str

    @property
    def is_wav(self) -> bool:
        return self.path.suffix == ".wav"


def load_references(tsv: Path) -> dict[str, str]:
    with tsv.open(newline="", encoding="utf-8") as f:
        return {row["file"]: row["reference_transcript"] for row in csv.DictReader(f, delimiter="\t")}


def wav_duration(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def read_pcm16_mono(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit WAV")
        return w.readframes(w.getnframes())


def concatenate(parts: list[Path], out: Path) -> None:
    """Writes the parts one after another, separated by a short silence."""
    gap = bytes(2 * int(GAP_SECONDS * SAMPLE_RATE))
    frames = gap.join(read_pcm16_mono(p) for p in parts)
    out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(frames)


def fixture_clip(root: Path, relative: Path, references: dict[str, str]) -> Clip:
    path = root / relative
    duration = wav_duration(root / SAME_RECORDING_AS_WAV.get(path.name, relative))
    return Clip(path.name, path, duration, references[path.name])


def generated_clip(name: str, parts: list[Path], root: Path, out_dir: Path, references: dict[str, str]) -> Clip:
    out = out_dir / f"{name}.wav"
    concatenate([root / p for p in parts], out)
    reference = " ".join(references[p.name] for p in parts)
    return Clip(name, out, wav_duration(out), reference)


def benchmark_clips(root: Path, out_dir: Path, references: dict[str, str], full: bool) -> list[Clip]:
    clips = [fixture_clip(root, p, references) for p in SHORT_CLIPS]
    clips.append(generated_clip("concat-30s", HALF_MINUTE_PARTS, root, out_dir, references))
    if full:
        clips.append(generated_clip("concat-long", LONG_PARTS, root, out_dir, references))
    return clips
