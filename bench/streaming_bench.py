"""Streaming on a long recording: how soon the first transcript line and the first end-to-end
audio byte leave, as shares of the whole `/api/asr` time on the same clip in the same run."""

import http.client
import logging
import time
from pathlib import Path

from bench.clips import LONG_PARTS, Clip, generated_clip
from bench.records import StreamingRun
from bench.server import VoxServer

# What the measurement needs: a recording of at least 90 s, so the first window is a small part.
STREAMING_CLIP = "concat-long"
MIN_STREAMING_CLIP_S = 90.0
NDJSON = "application/x-ndjson"

log = logging.getLogger(__name__)


def streaming_clip(root: Path, out_dir: Path, references: dict[str, str]) -> Clip:
    clip = generated_clip(STREAMING_CLIP, LONG_PARTS, root, out_dir, references)
    assert clip.duration_s >= MIN_STREAMING_CLIP_S, f"{clip.name} is {clip.duration_s:.0f} s"
    return clip


def first_segment_s(server: VoxServer, clip: Clip) -> tuple[float, float]:
    """`/api/asr` streamed as NDJSON: seconds to the first segment line, and to the last line."""
    conn = server.connection()
    try:
        started = time.perf_counter()
        conn.request("POST", "/api/asr?language=en", body=clip.path.read_bytes(),
                     headers={"content-type": "audio/wav", "accept": NDJSON})
        response = conn.getresponse()
        assert response.status == 200, response.status
        first = None
        while line := response.readline():
            if first is None and b'"text"' in line:
                first = time.perf_counter() - started
        return first, time.perf_counter() - started
    finally:
        conn.close()


def run_streaming(root: Path, results: Path, references: dict[str, str]) -> StreamingRun:
    clip = streaming_clip(root, results, references)
    body = clip.path.read_bytes()
    with VoxServer(root, results / "logs") as server:
        # Warm both paths first: the run measures streaming, not instance start-up.
        server.request("POST", "/api/asr?language=en", body, {"content-type": "audio/wav"})
        server.request("POST", "/api/e2e?language=en&format=pcm", body, {"content-type": "audio/wav"})
        log.info("streaming: whole /api/asr on %s (%.0f s)", clip.name, clip.duration_s)
        whole = server.request("POST", "/api/asr?language=en", body, {"content-type": "audio/wav"})
        log.info("streaming: first NDJSON segment")
        first_line, streamed_total = first_segment_s(server, clip)
        log.info("streaming: first e2e audio byte")
        e2e = server.request("POST", "/api/e2e?language=en&format=pcm", body, {"content-type": "audio/wav"})
    for response in (whole, e2e):
        if response.status != 200:
            raise http.client.HTTPException(f"status {response.status}")
    return StreamingRun(clip=clip.name, audio_s=round(clip.duration_s, 1), asr_total_s=whole.total_s,
                        first_segment_s=first_line, streamed_asr_total_s=streamed_total,
                        e2e_first_audio_s=e2e.first_byte_s, e2e_total_s=e2e.total_s)
