#!/usr/bin/env python3
"""Writes the malformed uploads in this folder from the good fixtures in ../fixtures.

Run from this folder: python3 make_invalid.py. Deterministic (fixed seed)."""

import random
import struct

rng = random.Random(1234)
fixtures = "../fixtures/"
flac = open(fixtures + "jfk-2s.flac", "rb").read()
wav = open(fixtures + "speech-16k-s16.wav", "rb").read()
ogg = open(fixtures + "jfk-2s.ogg", "rb").read()
mp3 = open(fixtures + "jfk-2s.mp3", "rb").read()
m4a = open(fixtures + "speech-c-aac.m4a", "rb").read()
alac = open(fixtures + "speech-c-alac.m4a", "rb").read()
opus = open(fixtures + "speech-c.opus", "rb").read()
webm = open(fixtures + "speech-c-opus.webm", "rb").read()
aiff = open(fixtures + "speech-c.aiff", "rb").read()
mp2 = open(fixtures + "speech-c.mp2", "rb").read()
adts = open(fixtures + "speech-c.aac", "rb").read()
adpcm = open(fixtures + "speech-c-adpcm-ms.wav", "rb").read()


def put(name, data):
    with open(name, "wb") as f:
        f.write(data)


def wav_header(tag=1, channels=1, rate=16000, bits=16, block_align=None, data_len=0, riff_len=None):
    block_align = channels * bits // 8 if block_align is None else block_align
    riff_len = 36 + data_len if riff_len is None else riff_len
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block_align, block_align, bits)
    return b"RIFF" + struct.pack("<I", riff_len) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt \
        + b"data" + struct.pack("<I", data_len)


def random_bytes(n):
    data = bytearray(rng.getrandbits(8) for _ in range(n))
    data[0] = 0x42  # never an accidental MPEG frame sync at offset 0
    return bytes(data)


silence = bytes(3200)
put("empty.wav", b"")
put("random.bin", random_bytes(4096))
put("text.txt", b"This is a text file, not audio.\n" * 8)
put("truncated.flac", flac[:20000])
put("truncated-header.flac", flac[:20])
put("corrupt-frames.flac", flac[:8192] + random_bytes(8192))
put("truncated.wav", wav[: len(wav) // 2])
put("truncated-header.wav", wav[:30])
put("data-size-lies.wav", wav_header(data_len=10_000_000) + silence)
put("zero-channels.wav", wav_header(channels=0, block_align=0, data_len=len(silence)) + silence)
put("zero-sample-rate.wav", wav_header(rate=0, data_len=len(silence)) + silence)
put("block-align-lies.wav", wav_header(channels=2, block_align=3, data_len=len(silence)) + silence)
put("no-samples.wav", wav_header(data_len=0))
put("no-data-chunk.wav", wav_header()[:36])
put("pcm-12bit.wav", wav_header(bits=12, block_align=2, data_len=len(silence)) + silence)
put("alaw-16bit.wav", wav_header(tag=6, bits=16, data_len=len(silence)) + silence)
put("adpcm-block-align-lies.wav", wav_header(tag=2, bits=4, block_align=1, data_len=len(silence)) + silence)
put("riff-avi.avi", b"RIFF" + struct.pack("<I", 4 + 8) + b"AVI " + b"LIST" + struct.pack("<I", 0))
put("truncated.ogg", ogg[: len(ogg) // 2])
put("truncated.mp3", mp3[: len(mp3) // 2 + 101])
# An Ogg page whose first packet is an Opus identification header.
put("opus.ogg", b"OggS\x00\x02" + bytes(20) + b"\x01\x13" + b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00")
put("webm.webm", b"\x1a\x45\xdf\xa3" + random_bytes(64))
put("mp4.m4a", struct.pack(">I", 24) + b"ftypM4A " + bytes(12))
put("id3-only.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10))
# The formats of ../fixtures/make_formats.sh cut short or overwritten past their headers.
put("truncated.m4a", m4a[: len(m4a) // 2])
put("truncated-header.m4a", m4a[:40])
put("corrupt-frames.m4a", m4a[:2000] + random_bytes(len(m4a) - 2000))
put("truncated-alac.m4a", alac[: len(alac) // 2])
put("truncated.opus", opus[: len(opus) // 2])
put("corrupt-pages.opus", opus[:200] + random_bytes(len(opus) - 200))
put("truncated.webm", webm[: len(webm) // 2])
put("truncated-header.webm", webm[:60])
put("truncated.aiff", aiff[: len(aiff) // 2])
put("truncated-header.aiff", aiff[:30])
put("corrupt-frames.aac", bytes(adts[:7]) + random_bytes(4096))
put("truncated-adpcm.wav", adpcm[: len(adpcm) // 2])
