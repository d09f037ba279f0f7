"""Text the benchmark synthesizes."""

SENTENCE = "The quick brown fox jumps over the lazy dog."

PARAGRAPH = (
    "Speech synthesis turns written text into sound. "
    "A neural voice first predicts how long each phoneme should last, "
    "then generates the waveform one sentence at a time. "
    "Streaming lets the listener hear the first sentence while the rest is still being computed."
)

# About 70 s of speech for this voice (roughly 240 words).
_LONG_PARAGRAPHS = [
    "The old lighthouse stood at the edge of the cliff, its white paint faded by a century of salt and wind. "
    "Every evening the keeper climbed the narrow stairs, counted the steps out of habit, and lit the lamp "
    "that warned the fishing boats away from the rocks below.",
    "In the village, people set their clocks by the beam. Children learned to read the weather from the way "
    "the light cut through the fog, and the baker claimed his bread rose better on clear nights. "
    "Nobody could prove him wrong, so nobody tried.",
    "One winter a storm took out the power lines for three days. The keeper wound the old clockwork by hand, "
    "every four hours, through wind that rattled the windows and rain that came in sideways. "
    "When the storm finally passed, a trawler that had been missing since Tuesday came home, "
    "her captain saying he had steered for the light the whole way.",
    "Years later the lamp was replaced by an automatic beacon, and the keeper moved to a small house in town. "
    "He still walked to the harbour each evening, though, to watch the beam sweep across the water. "
    "It was not his light anymore, he would say, but it was still doing the same good work.",
    "Visitors now climb the stairs on summer afternoons. A small sign at the top lists the names of every "
    "keeper who served there, and beside the last name someone has written, in careful pencil, "
    "a single word of thanks.",
]
LONG_TEXT = " ".join(_LONG_PARAGRAPHS)


def benchmark_texts(full: bool) -> dict[str, str]:
    texts = {"sentence": SENTENCE, "paragraph": PARAGRAPH}
    if full:
        texts["long"] = LONG_TEXT
    return texts
