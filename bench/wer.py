"""Word error rate as Whisper's evaluation counts it: jiwer over the output of Whisper's English
text normaliser (`EnglishTextNormalizer`: case, punctuation, spelled-out numbers, British spellings),
so the figures compare with published ones."""

from dataclasses import dataclass

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

_normalise = EnglishTextNormalizer()


@dataclass(frozen=True)
class WordErrors:
    errors: int  # substitutions + deletions + insertions
    reference_words: int
    rate: float  # errors / reference_words


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """One transcript against its reference, both normalised first."""
    out = jiwer.process_words(_normalise(reference), _normalise(hypothesis))
    return WordErrors(errors=out.substitutions + out.deletions + out.insertions,
                      reference_words=out.hits + out.substitutions + out.deletions,
                      rate=out.wer)
