"""Word error rate, percentiles and waveform agreement, in the standard library."""

import array
import math
import re
import statistics

_NOT_WORD = re.compile(r"[^a-z0-9' ]+")


def normalise(text: str) -> list[str]:
    """Lower case, punctuation and hyphens to spaces, apostrophes kept inside words."""
    text = _NOT_WORD.sub(" ", text.lower().replace("-", " "))
    return [w.strip("'") for w in text.split() if w.strip("'")]


def edit_distance(a: list[str], b: list[str]) -> int:
    previous = list(range(len(b) + 1))
    for i, word in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref = normalise(reference)
    return edit_distance(ref, normalise(hypothesis)) / max(len(ref), 1)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def samples_from_pcm(pcm: bytes) -> array.array:
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) // 2 * 2])
    return samples


def correlation(a: array.array, b: array.array) -> float:
    """Pearson correlation over the common length of two sample arrays."""
    n = min(len(a), len(b))
    if n < 2:
        return float("nan")
    return statistics.correlation(a[:n], b[:n])


def duration_difference_percent(a_samples: int, b_samples: int) -> float:
    return 100.0 * (a_samples - b_samples) / max(b_samples, 1)


def agreeing_prefix_seconds(a: array.array, b: array.array, sample_rate: int, threshold: float = 0.95) -> float:
    """How long the two waveforms agree from the start: 1 s windows until one correlates below threshold."""
    n = min(len(a), len(b))
    for start in range(0, n, sample_rate):
        window = correlation(a[start:start + sample_rate], b[start:start + sample_rate])
        if not window >= threshold and max(map(abs, b[start:start + sample_rate]), default=0) > 0:
            return start / sample_rate
    return n / sample_rate
