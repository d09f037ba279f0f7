#!/usr/bin/env python3
"""Checks the gateway's OpenAI-compatible API with the official `openai` Python SDK.

Requires `openai==3.51.0` (pip install openai==3.51.0) and a running Vox (`make up`).
`make test` runs it against the real app (tests/tests/openai_sdk.rs), in a cached venv.

    python3 tests/openai_sdk_check.py --audio jfk.wav [--base-url URL]

The API key, if the gateway has one, is read from VOX_API_KEY. Exits non-zero on the first failure.
"""

import argparse
import base64
import io
import json
import os
import re
import sys
import tempfile
import warnings
import wave

import openai
from openai import OpenAI


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def words(text):
    """Lower-cased words without punctuation."""
    return re.findall(r"[\w']+", text.lower())


def field(obj, name):
    """A response field, whether the SDK models it or keeps it as an extra (a plain dict)."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def transcriptions(client, audio):
    def create(**kwargs):
        with open(audio, "rb") as f:
            return client.audio.transcriptions.create(model="whisper-1", file=f, **kwargs)

    result = create(response_format="json")
    check(isinstance(result.text, str) and result.text.strip(), f"json: empty text: {result!r}")
    text = result.text.strip()
    print(f"json: {text!r}")
    # OpenAI's per-second usage, as whisper-1 reports it.
    usage = field(result, "usage")
    check(usage is not None and field(usage, "type") == "duration" and field(usage, "seconds") > 0,
          f"json: usage {usage!r}")

    plain = create(response_format="text")
    check(isinstance(plain, str) and plain.strip() == text, f"text differs from json: {plain!r}")

    srt = create(response_format="srt")
    check(srt.startswith("1\n") and " --> " in srt and "," in srt.split("\n")[1], f"srt: {srt[:80]!r}")

    vtt = create(response_format="vtt")
    check(vtt.startswith("WEBVTT") and " --> " in vtt, f"vtt: {vtt[:80]!r}")

    verbose = create(response_format="verbose_json", timestamp_granularities=["word", "segment"])
    check(verbose.text.strip() == text, "verbose_json text differs from json")
    check(verbose.duration and verbose.duration > 0, "verbose_json: no duration")
    check(verbose.segments and verbose.segments[0].end >= verbose.segments[0].start, "verbose_json: no segments")
    check(verbose.words is not None and len(verbose.words) > 0, "verbose_json: no words")
    check([s.id for s in verbose.segments] == list(range(len(verbose.segments))),
          f"verbose_json: segment ids {[s.id for s in verbose.segments]}")
    check(field(field(verbose, "usage"), "seconds") == verbose.duration, "verbose_json: usage is not the duration")

    # speaches' extensions go in the form through extra_body; an unknown field is a 400.
    # Greedy decoding of clear speech gives the same words; the punctuation may differ.
    greedy = create(response_format="json", extra_body={"beam_size": 1, "vad_filter": "false"})
    check(words(greedy.text) == words(text), f"beam_size=1: {greedy.text!r}")
    try:
        create(extra_body={"best_of": 2})
        check(False, "an unknown field: expected a 400")
    except openai.BadRequestError as e:
        check(e.body and e.body.get("param") == "best_of", f"unknown field: {e}")
    print(f"verbose_json: language={verbose.language} duration={verbose.duration} "
          f"segments={len(verbose.segments)} words={len(verbose.words)}")

    deltas, done = [], None
    for event in create(stream=True):
        if event.type == "transcript.text.delta":
            deltas.append(event.delta)
        elif event.type == "transcript.text.done":
            done = event.text
    check(done is not None and done.strip() == text, f"stream: done text {done!r}")
    check("".join(deltas).strip() == text, f"stream: deltas {''.join(deltas)!r}")
    print(f"stream: {len(deltas)} deltas")


def translations(client, audio):
    # The SDK marks translations deprecated; the route is still part of the API.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    multilingual = [m.id for m in client.models.list().data if m.owned_by == "vox-whisper" and not m.id.endswith(".en")]
    try:
        with open(audio, "rb") as f:
            result = client.audio.translations.create(model=multilingual[0] if multilingual else "whisper-1", file=f)
        print(f"translation: {result.text.strip()!r}")
    except openai.BadRequestError as e:
        # Only English-only models are installed: the error must say so.
        check(not multilingual and "English-only" in str(e), f"translation failed: {e}")
        print("translation: refused for an English-only model, as documented")


def speech(client, out_dir):
    path = os.path.join(out_dir, "speech.wav")
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input="Hello from Vox. This is a streamed answer.", response_format="wav"
    ) as response:
        check(response.headers.get("content-type", "").startswith("audio/wav"), "speech: not audio/wav")
        response.stream_to_file(path)
    with wave.open(path, "rb") as w:
        check(w.getnchannels() == 1 and w.getsampwidth() == 2, "speech: not 16-bit mono")
        # The header has an unknown length: read what is there.
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
    check(len(frames) > rate // 10, f"speech: only {len(frames)} bytes of audio")
    print(f"speech wav: {len(frames) // 2 / rate:.2f} s at {rate} Hz")

    # OpenAI's default response_format is mp3; an MPEG audio frame starts with 11 set sync bits.
    mp3 = client.audio.speech.create(model="tts-1", voice="marin", input="Hello from Vox.")
    check(mp3.response.headers.get("content-type", "").startswith("audio/mpeg"), "speech: default is not mp3")
    check(len(mp3.content) > 1000 and mp3.content[0] == 0xFF and mp3.content[1] & 0xE0 == 0xE0, "speech mp3: not MPEG audio")
    print(f"speech mp3 (default): {len(mp3.content)} bytes")

    # OpenAI's pcm is 24 kHz s16le mono: the same text as pcm and as wav (at the voice's rate)
    # must last as long.
    text = "Raw samples at twenty four kilohertz."
    pcm = client.audio.speech.create(model="tts-1", voice="echo", input=text, response_format="pcm")
    check(len(pcm.content) > 0 and len(pcm.content) % 2 == 0, "speech pcm: bad length")
    check(pcm.response.headers.get("x-sample-rate") == "24000", "speech pcm: not 24 kHz")
    wav = client.audio.speech.create(model="tts-1", voice="echo", input=text, response_format="wav")
    with wave.open(io.BytesIO(wav.content), "rb") as w:
        wav_seconds = (len(wav.content) - 44) / 2 / w.getframerate()
    pcm_seconds = len(pcm.content) / 2 / 24000
    check(abs(pcm_seconds - wav_seconds) < 0.35, f"speech pcm: {pcm_seconds:.2f} s vs wav {wav_seconds:.2f} s")
    print(f"speech pcm: {pcm_seconds:.2f} s at 24 kHz")

    audio, done = bytearray(), False
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="nova", input="Events.", stream_format="sse"
    ) as response:
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[len("data: "):])
            if event["type"] == "speech.audio.delta":
                chunk = base64.b64decode(event["audio"])
                check(len(chunk) % 2 == 0, "speech sse: chunk splits a sample")
                audio += chunk
            elif event["type"] == "speech.audio.done":
                done = True
    check(done and len(audio) > 0, "speech sse: no audio or no done event")
    print(f"speech sse: {len(audio)} bytes")

    try:
        client.audio.speech.create(model="tts-1", voice="alloy", input="x", response_format="aac")
        check(False, "speech aac: expected a 400")
    except openai.BadRequestError as e:
        check(e.body and e.body.get("param") == "response_format" and "mp3" in e.body.get("message", ""), f"speech aac: {e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:3000/v1")
    parser.add_argument("--audio", required=True, help="a short speech recording (wav, flac, mp3 or ogg)")
    args = parser.parse_args()
    client = OpenAI(base_url=args.base_url, api_key=os.environ.get("VOX_API_KEY") or "none", max_retries=0)

    ids = {m.id for m in client.models.list().data}
    check({"whisper-1", "tts-1"} <= ids, f"models: {sorted(ids)}")
    for name in ("whisper-1", "Systran/faster-whisper-tiny.en", "tts-1"):
        model = client.models.retrieve(name)
        check(model.id == name and model.object == "model", f"models.retrieve({name!r}): {model!r}")
    try:
        client.models.retrieve("large-v3")
        check(False, "models.retrieve of a model not installed: expected a 404")
    except openai.NotFoundError as e:
        check(e.body and e.body.get("code") == "model_not_found" and "tiny.en" in e.body.get("message", ""),
              f"models.retrieve: {e}")
    print("models: retrieved by id and by checkpoint name")
    transcriptions(client, args.audio)
    translations(client, args.audio)
    with tempfile.TemporaryDirectory() as out_dir:
        speech(client, out_dir)
    print("openai sdk check: ok")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, openai.OpenAIError) as e:
        print(f"openai sdk check FAILED: {e}", file=sys.stderr)
        sys.exit(1)
