"""The small app carries the espeak-ng dictionaries of its voices' languages and no others."""

import tempfile
import unittest
from pathlib import Path

from small_app import espeak_dictionary, espeak_subset


def voice_file(data: Path, path: str, text: str) -> None:
    (data / path).parent.mkdir(parents=True, exist_ok=True)
    (data / path).write_text(text)


class EspeakSubsetTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.data = Path(self.tmp.name)
        # Voice files as espeak-ng ships them (lang/gmw/en-US, lang/gmq/nb, lang/roa/pt-BR).
        voice_file(self.data, "lang/gmw/en-US", "name English (America)\nlanguage en-us 2\nlanguage en 3\n")
        voice_file(self.data, "lang/gmq/nb", "name Norwegian\nlanguage nb\nlanguage no\ndictionary no\n")
        voice_file(self.data, "lang/roa/pt-BR", "name Portuguese (Brazil)\nlanguage pt-br\nlanguage pt 6\n")
        for name in ["phontab", "phondata", "en_dict", "no_dict", "pt_dict", "de_dict"]:
            (self.data / name).write_bytes(b"x")

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def names(self, voices: list[str]) -> set[str]:
        return {p.relative_to(self.data).as_posix() for p in espeak_subset(self.data, voices)}

    def test_dictionary_is_the_voice_files_or_its_first_language(self) -> None:
        self.assertEqual(espeak_dictionary(self.data, "en-us"), "en")  # name matched without case
        self.assertEqual(espeak_dictionary(self.data, "nb"), "no")
        self.assertEqual(espeak_dictionary(self.data, "pt-br"), "pt")
        self.assertIsNone(espeak_dictionary(self.data, "xx"))

    def test_only_the_voices_dictionaries_are_carried(self) -> None:
        names = self.names(["en-us", "nb"])
        self.assertIn("en_dict", names)
        self.assertIn("no_dict", names)
        self.assertNotIn("pt_dict", names)
        self.assertNotIn("de_dict", names)
        self.assertTrue({"phontab", "phondata", "lang/roa/pt-BR"} <= names)

    def test_an_unknown_voice_keeps_every_dictionary(self) -> None:
        self.assertIn("de_dict", self.names(["en-us", "xx"]))


if __name__ == "__main__":
    unittest.main()
