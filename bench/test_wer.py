"""bench/wer.py on a few transcripts whose counts are known by hand.

  python -m unittest discover -s bench -t .    (under the bench venv's python, which has jiwer)
"""

import importlib.util
import unittest

if importlib.util.find_spec("jiwer") is None or importlib.util.find_spec("whisper_normalizer") is None:
    raise unittest.SkipTest(
        "jiwer and whisper-normalizer are not installed here: run under the bench venv's python "
        "(`python3 -m bench.reference_env` prints it)")

from bench.wer import WordErrors, word_errors  # noqa: E402


class WordErrorsTest(unittest.TestCase):
    def test_case_and_punctuation_do_not_count(self) -> None:
        self.assertEqual(
            word_errors("AFTER EARLY NIGHTFALL THE YELLOW LAMPS WOULD LIGHT UP HERE AND THERE",
                        "After early nightfall, the yellow lamps would light up here and there."),
            WordErrors(errors=0, reference_words=12, rate=0.0))

    def test_british_spellings_and_numbers_are_normalised(self) -> None:
        self.assertEqual(word_errors("THAT SAME DISHONOURED BOSOM", "that same dishonored bosom").errors, 0)
        self.assertEqual(word_errors("twenty five dollars", "$25").errors, 0)

    def test_substitution_deletion_and_insertion_each_count_one(self) -> None:
        self.assertEqual(word_errors("the quick brown fox", "the quick brown box"),
                         WordErrors(errors=1, reference_words=4, rate=0.25))
        self.assertEqual(word_errors("the quick brown fox", "the brown fox jumps"),
                         WordErrors(errors=2, reference_words=4, rate=0.5))

    def test_compound_split_counts_a_substitution_and_a_deletion(self) -> None:
        # Whisper's normaliser leaves "for ever" against "forever" as two words against one.
        errors = word_errors("connect her parent for ever", "connect her parent forever")
        self.assertEqual((errors.errors, errors.reference_words), (2, 5))

    def test_empty_hypothesis_deletes_every_word(self) -> None:
        self.assertEqual(word_errors("the quick brown fox", ""), WordErrors(errors=4, reference_words=4, rate=1.0))


if __name__ == "__main__":
    unittest.main()
