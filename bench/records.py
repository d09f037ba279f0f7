"""The measured records of a run, serialised by `as_json` to the JSON written to bench/results/
(which bench/report.py renders)."""

from dataclasses import asdict, dataclass, field
from typing import Any


def as_json(record: Any) -> dict:
    """The record as plain JSON values; fields left at None (parts not run) are omitted."""
    return asdict(record, dict_factory=lambda items: {k: v for k, v in items if v is not None})


# --- speech recognition -------------------------------------------------------------------------

@dataclass
class AsrRow:
    engine: str
    clip: str
    beam_size: int
    audio_s: float
    wall_s: float
    rtf: float
    wer: float
    word_errors: int
    reference_words: int
    text: str
    cpu_s: float | None = None  # CPU seconds of the engine's process (vox up: the whole server)


@dataclass
class AsrOverHttp:
    """Vox through `vox up`: its load is the first request; memory is the whole server's."""
    rows: list[AsrRow]
    first_request_s: float
    peak_rss_kb: int
    startup_s: float


@dataclass
class AsrInProcess:
    """An engine loading the model in its own process (the native example, faster-whisper)."""
    rows: list[AsrRow]
    load_s: float
    peak_rss_kb: int


@dataclass
class AsrPart:
    beams: list[int]
    clips: list[str]
    engines: dict[str, AsrOverHttp | AsrInProcess]


# --- speech synthesis ---------------------------------------------------------------------------

# The two places `vox up` runs the voice, as the TTS part names them: the default (the tts
# component's wasi:nn build, the voice on the host's native tract) and the portable component
# Spin runs (`--inference wasm`).
TTS_NATIVE, TTS_IN_COMPONENT = "vox (vox up)", "vox (vox up, in-component)"

@dataclass(frozen=True)
class VoiceSettings:
    noise_scale: float
    noise_w: float
    length_scale: float


@dataclass
class TtsTiming:
    first_audio_s: float
    total_s: float
    audio_s: float
    rtf: float


@dataclass
class TtsOverHttp:
    rows: dict[str, TtsTiming]
    first_request_s: float  # the first request after start: the voice loads (natively: into the graph cache)
    peak_rss_kb: int
    startup_s: float
    warm_request_s: float | None = None  # the same request again, the voice loaded


@dataclass
class TtsInProcess:
    rows: dict[str, TtsTiming]
    load_s: float
    peak_rss_kb: int
    sample_rate: int


@dataclass
class Agreement:
    correlation: float
    duration_difference_percent: float
    agreeing_prefix_s: float
    vox_samples: int
    piper_samples: int
    sample_rate: int


@dataclass
class TtsPart:
    texts: dict[str, str]
    settings: VoiceSettings
    engines: dict[str, TtsOverHttp | TtsInProcess]
    agreement: dict[str, Agreement]


# --- the service as a whole ---------------------------------------------------------------------

@dataclass
class E2eRow:
    clip: str
    audio_in_s: float
    status: int
    first_audio_s: float
    total_s: float
    audio_out_s: float


@dataclass
class E2eRun:
    rows: list[E2eRow]
    first_request_s: float


@dataclass
class HealthLatency:
    requests: int
    p50_ms: float
    p99_ms: float
    mean_ms: float


@dataclass
class Throughput:
    clients: int
    requests: int
    wall_s: float
    server_cores_busy: float
    requests_per_s: float
    p50_s: float
    p99_s: float
    errors: int


@dataclass
class FreshInstances:
    asr_s: list[float]
    tts_s: list[float]


@dataclass
class ServicePart:
    startup_s: float
    e2e: E2eRun
    health: HealthLatency
    throughput: dict[str, list[Throughput]]  # by workload: asr, tts
    peak_rss_kb: int
    throughput_one_per_instance: dict[str, list[Throughput]]
    one_per_instance_peak_rss_kb: int
    fresh_startup_s: float
    fresh_instance: FreshInstances


# --- pre-initialised components -----------------------------------------------------------------

@dataclass
class ComponentSizes:
    lazy_mb: float
    preinit_mb: float


@dataclass
class ComponentReady:
    """One `component ready` line of vox's startup log."""
    outcome: str
    ms: int


@dataclass
class CompileRun:
    no_cache: dict[str, ComponentReady]
    startup_s: float
    cached: dict[str, ComponentReady]


@dataclass
class FreshAndWarm:
    fresh_total_s: list[float] = field(default_factory=list)
    warm_total_s: list[float] = field(default_factory=list)
    fresh_first_byte_s: list[float] = field(default_factory=list)
    warm_first_byte_s: list[float] = field(default_factory=list)


@dataclass
class ProcessMemory:
    rss_kb: int
    pss_kb: int


@dataclass
class InstancesMemory(ProcessMemory):
    statuses: list[int]


@dataclass
class ComponentMemory:
    idle: ProcessMemory
    instances_1: InstancesMemory
    instances_4: InstancesMemory


@dataclass
class PreinitPart:
    sizes: dict[str, ComponentSizes]  # by component (asr, tts)
    compile: dict[str, CompileRun]  # by build (lazy, preinit)
    latency: dict[str, dict[str, FreshAndWarm]]  # by build, then component
    memory: dict[str, dict[str, ComponentMemory]]  # by build, then component


# --- under the real Spin -------------------------------------------------------------------------

@dataclass
class SpinSetting:
    flags: list[str]  # given to `spin up` beside the defaults
    startup_s: float
    throughput: dict[str, list[Throughput]]  # by workload: asr, tts
    peak_rss_kb: int


@dataclass
class SpinPart:
    version: str
    settings: dict[str, SpinSetting]  # "default", "one request per instance"


# --- the run ------------------------------------------------------------------------------------

@dataclass
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    kernel: str


@dataclass
class StreamingRun:
    """Time to first output on a long clip (bench/streaming_bench.py), seconds."""
    clip: str
    audio_s: float
    asr_total_s: float  # /api/asr, one JSON at the end
    first_segment_s: float  # /api/asr as NDJSON: the first segment line
    streamed_asr_total_s: float
    e2e_first_audio_s: float  # /api/e2e: the first audio byte
    e2e_total_s: float


@dataclass
class Target:
    target: str
    measured: str
    met: bool


@dataclass
class BenchRun:
    started_utc: str
    mode: str
    command: str
    threads: int
    machine: Machine
    versions: dict[str, str]
    load_before: list[float]
    compiled_cache_warm: bool
    asr: AsrPart | None
    tts: TtsPart | None
    service: ServicePart | None
    preinit: PreinitPart | None
    load_after: list[float]
    elapsed_s: float
    spin: SpinPart | None = None
    streaming: StreamingRun | None = None
    targets: list[Target] = field(default_factory=list)
