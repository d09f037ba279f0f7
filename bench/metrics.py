"""Percentiles and waveform agreement, in the standard library (word error rate: bench/wer.py)."""

import array
import math
import statistics


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
