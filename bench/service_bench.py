"""The service as a whole: end-to-end latency, cold start, fresh instances, overhead, throughput."""

import logging
import statistics
import threading
import time
from pathlib import Path

from bench.clips import Clip
from bench.metrics import percentile
from bench.records import E2eRow, E2eRun, FreshInstances, HealthLatency, ServicePart, Throughput
from bench.server import Response, VoxServer, timed_request
from bench.texts import SENTENCE

THROUGHPUT_CLIENTS = [1, 2, 4]
REQUESTS_PER_CLIENT = {"asr": 3, "tts": 3}
HEALTH_REQUESTS = 500
FRESH_INSTANCE_ROUNDS = 3
FRESH_INSTANCE_PAUSE_S = 2.0
THROUGHPUT_CLIP = "jfk.wav"

log = logging.getLogger(__name__)


def e2e_request(server: VoxServer, clip: Clip) -> Response:
    content_type = "audio/wav" if clip.is_wav else "audio/flac"
    return server.request("POST", "/api/e2e?language=en&format=pcm", clip.path.read_bytes(),
                          {"content-type": content_type})


def bench_e2e(server: VoxServer, clips: list[Clip]) -> E2eRun:
    first = e2e_request(server, clips[0])
    rows = []
    for clip in clips:
        log.info("e2e %s", clip.name)
        response = e2e_request(server, clip)
        rows.append(E2eRow(
            clip=clip.name, audio_in_s=round(clip.duration_s, 2), status=response.status,
            first_audio_s=response.first_byte_s, total_s=response.total_s,
            audio_out_s=len(response.body) / 2 / int(response.headers.get("x-sample-rate", "22050"))))
    return E2eRun(rows=rows, first_request_s=first.total_s)


def asr_request(clip: Clip, beam_size: int = 5) -> tuple:
    return ("POST", f"/api/asr?language=en&beam_size={beam_size}", clip.path.read_bytes(),
            {"content-type": "audio/wav"})


def tts_request() -> tuple:
    body = ('{"text": "%s", "format": "pcm"}' % SENTENCE).encode()
    return "POST", "/api/tts", body, {"content-type": "application/json"}


def bench_fresh_instances(server: VoxServer, clip: Clip) -> FreshInstances:
    """With a 1 s idle timeout and 2 s pauses, each request meets a new instance that loads its model."""
    asr, tts = [], []
    for _ in range(FRESH_INSTANCE_ROUNDS):
        for requests, latencies in ((asr_request(clip), asr), (tts_request(), tts)):
            time.sleep(FRESH_INSTANCE_PAUSE_S)
            response = server.request(*requests)
            latencies.append(response.total_s if response.status == 200 else float("nan"))
    return FreshInstances(asr_s=asr, tts_s=tts)


def bench_health_overhead(server: VoxServer) -> HealthLatency:
    conn = server.connection()
    try:
        for _ in range(20):
            timed_request(conn, "GET", "/health", None, {})
        latencies = [timed_request(conn, "GET", "/health", None, {}).total_s for _ in range(HEALTH_REQUESTS)]
    finally:
        conn.close()
    return HealthLatency(requests=HEALTH_REQUESTS, p50_ms=percentile(latencies, 50) * 1000,
                         p99_ms=percentile(latencies, 99) * 1000, mean_ms=statistics.fmean(latencies) * 1000)


def client_loop(server: VoxServer, request: tuple, count: int, latencies: list, errors: list) -> None:
    conn = server.connection()
    try:
        for _ in range(count):
            try:
                response = timed_request(conn, *request)
                if response.status == 200:
                    latencies.append(response.total_s)
                else:
                    errors.append(response.status)
            except OSError as error:
                errors.append(repr(error))
                conn.close()
                conn = server.connection()
    finally:
        conn.close()


def throughput(server: VoxServer, request: tuple, clients: int, per_client: int) -> Throughput:
    latencies, errors = [], []
    threads = [threading.Thread(target=client_loop, args=(server, request, per_client, latencies, errors))
               for _ in range(clients)]
    started, cpu = time.perf_counter(), server.cpu_seconds
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return Throughput(clients=clients, requests=clients * per_client, wall_s=wall,
                      server_cores_busy=(server.cpu_seconds - cpu) / wall,
                      requests_per_s=len(latencies) / wall,
                      p50_s=percentile(latencies, 50) if latencies else float("nan"),
                      p99_s=percentile(latencies, 99) if latencies else float("nan"),
                      errors=len(errors))


def warm_instances(server: VoxServer, request: tuple, count: int) -> None:
    """One request from each of `count` clients at once, so every instance they need has loaded its model."""
    throughput(server, request, count, 1)


def bench_throughput(server: VoxServer, clip: Clip,
                     warm_up: bool = False) -> dict[str, list[Throughput]]:
    out = {}
    for kind, request in (("asr", asr_request(clip)), ("tts", tts_request())):
        if warm_up:
            warm_instances(server, request, max(THROUGHPUT_CLIENTS))
        out[kind] = []
        for clients in THROUGHPUT_CLIENTS:
            log.info("throughput %s, %d client(s)", kind, clients)
            out[kind].append(throughput(server, request, clients, REQUESTS_PER_CLIENT[kind]))
    return out


def run_service(root: Path, results: Path, clips: list[Clip]) -> ServicePart:
    clip = next(c for c in clips if c.name == THROUGHPUT_CLIP)
    with VoxServer(root, results / "logs") as server:
        startup_s = server.startup_s
        e2e = bench_e2e(server, clips)
        health = bench_health_overhead(server)
        shared = bench_throughput(server, clip)
        peak_rss_kb = server.peak_rss_kb
    log.info("throughput with one request per instance")
    with VoxServer(root, results / "logs", extra_flags=("--max-instance-concurrency", "1")) as server:
        one_per_instance = bench_throughput(server, clip, warm_up=True)
        one_per_instance_peak_rss_kb = server.peak_rss_kb
    log.info("fresh instances (idle timeout 1 s)")
    with VoxServer(root, results / "logs", idle_instance_timeout="1s") as server:
        fresh_startup_s = server.startup_s
        fresh_instance = bench_fresh_instances(server, clip)
    return ServicePart(startup_s=startup_s, e2e=e2e, health=health, throughput=shared, peak_rss_kb=peak_rss_kb,
                       throughput_one_per_instance=one_per_instance,
                       one_per_instance_peak_rss_kb=one_per_instance_peak_rss_kb,
                       fresh_startup_s=fresh_startup_s, fresh_instance=fresh_instance)
