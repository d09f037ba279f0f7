//! The app's Prometheus metrics: requests, latency, bytes, instances, audio seconds, errors.
//!
//! One [`Metrics`] per running app, shared by the server (public requests) and the runtime
//! (every call into a component, chained ones too, and the instance pools). Rendered in
//! Prometheus' text format by [`Metrics::encode`] for the scrape endpoint
//! (`vox up --metrics-listen`). Label values come from the manifest (component ids), from
//! fixed vocabularies (statuses, error codes) or from the paths of answered requests, at
//! most [`MAX_ROUTES`] of them (see [`Routes`]), so a client cannot grow the label space
//! without bound.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Latency buckets in seconds: from a health check to a long transcription.
const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Instance start buckets in seconds: a pre-initialised snapshot starts in milliseconds, a
/// lazily loading one in seconds.
const START_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Instance memory buckets in bytes, 16 MiB to wasm32's 4 GiB: a gateway holds a few MiB, a
/// loaded Whisper or Piper model hundreds.
const MEMORY_BUCKETS: [f64; 9] = [
    16_777_216.0,
    67_108_864.0,
    134_217_728.0,
    268_435_456.0,
    536_870_912.0,
    1_073_741_824.0,
    2_147_483_648.0,
    3_221_225_472.0,
    4_294_967_296.0,
];

/// The longest path kept as a `route` label.
const MAX_ROUTE_LABEL: usize = 64;

/// Distinct `route` labels kept; paths seen after that are counted as `other`.
const MAX_ROUTES: usize = 64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    component: String,
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    component: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BytesLabels {
    component: String,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    component: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    component: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AudioLabels {
    component: String,
    kind: &'static str,
}

/// Whether audio was heard (asr) or spoken (tts).
#[derive(Clone, Copy, Debug)]
pub enum AudioKind {
    Transcribed,
    Synthesized,
}

impl AudioKind {
    fn label(self) -> &'static str {
        match self {
            AudioKind::Transcribed => "transcribed",
            AudioKind::Synthesized => "synthesized",
        }
    }
}

/// One finished public request, as the server saw it.
pub struct RequestRecord<'a> {
    pub component: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub duration: Duration,
}

pub struct Metrics {
    registry: Registry,
    routes: Routes,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    bytes: Family<BytesLabels, Counter>,
    calls: Family<CallLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    audio: Family<AudioLabels, Counter<f64, std::sync::atomic::AtomicU64>>,
    live: Family<ComponentLabels, Gauge>,
    started: Family<ComponentLabels, Counter>,
    start_time: Family<ComponentLabels, Histogram>,
    memory: Family<ComponentLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vox");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Public HTTP requests by the component that served them, route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(LATENCY_BUCKETS)
        });
        registry.register_with_unit(
            "http_request_duration",
            "Time from a public request's arrival to the end of its response body",
            Unit::Seconds,
            latency.clone(),
        );
        let bytes = Family::<BytesLabels, Counter>::default();
        registry.register_with_unit(
            "http_body",
            "Public request (in) and response (out) body bytes",
            Unit::Bytes,
            bytes.clone(),
        );
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "component_requests",
            "Requests each component answered, chained ones included, by status",
            calls.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "component_errors",
            "Error answers by the component that gave them and the error code",
            errors.clone(),
        );
        let audio = Family::<AudioLabels, Counter<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register_with_unit(
            "audio",
            "Seconds of audio transcribed (asr) and synthesized (tts)",
            Unit::Seconds,
            audio.clone(),
        );
        let live = Family::<ComponentLabels, Gauge>::default();
        registry.register(
            "instances_live",
            "Live instances per component",
            live.clone(),
        );
        let started = Family::<ComponentLabels, Counter>::default();
        registry.register(
            "instances_started",
            "Instances started per component",
            started.clone(),
        );
        let start_time = Family::<ComponentLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(START_BUCKETS)
        });
        registry.register_with_unit(
            "instance_start_duration",
            "Time to instantiate a component (for a pre-initialised one: its model is loaded)",
            Unit::Seconds,
            start_time.clone(),
        );
        let memory = Family::<ComponentLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(MEMORY_BUCKETS)
        });
        registry.register_with_unit(
            "instance_memory",
            "Largest linear memory of each retired instance (what `tool.vox.max_memory` must allow)",
            Unit::Bytes,
            memory.clone(),
        );
        Self {
            registry,
            routes: Routes::default(),
            requests,
            latency,
            bytes,
            calls,
            errors,
            audio,
            live,
            started,
            start_time,
            memory,
        }
    }

    /// A public request has been answered and its response body sent or abandoned.
    pub fn request_done(&self, r: &RequestRecord<'_>) {
        let route = self.routes.label(r.path, r.status);
        self.requests
            .get_or_create(&RequestLabels {
                component: r.component.to_string(),
                method: r.method.to_string(),
                route: route.clone(),
                status: r.status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                component: r.component.to_string(),
                route,
            })
            .observe(r.duration.as_secs_f64());
        for (direction, n) in [("in", r.bytes_in), ("out", r.bytes_out)] {
            self.bytes
                .get_or_create(&BytesLabels {
                    component: r.component.to_string(),
                    direction,
                })
                .inc_by(n);
        }
    }

    /// A component answered a call (public or chained) with `status`, and with `error_code`
    /// when it was an error; the host's own error answers come here too.
    pub fn component_answered(&self, component: &str, status: u16, error_code: Option<&str>) {
        self.calls
            .get_or_create(&CallLabels {
                component: component.to_string(),
                status,
            })
            .inc();
        if let Some(code) = error_code {
            self.errors
                .get_or_create(&ErrorLabels {
                    component: component.to_string(),
                    code: code.to_string(),
                })
                .inc();
        }
    }

    pub fn audio(&self, component: &str, kind: AudioKind, seconds: f64) {
        if seconds.is_finite() && seconds > 0.0 {
            self.audio
                .get_or_create(&AudioLabels {
                    component: component.to_string(),
                    kind: kind.label(),
                })
                .inc_by(seconds);
        }
    }

    pub fn instance_started(&self, component: &str, took: Duration) {
        let labels = ComponentLabels {
            component: component.to_string(),
        };
        self.started.get_or_create(&labels).inc();
        self.live.get_or_create(&labels).inc();
        self.start_time
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// An instance was retired; its memory grew to `peak_memory` bytes at most.
    pub fn instance_dropped(&self, component: &str, peak_memory: u64) {
        let labels = ComponentLabels {
            component: component.to_string(),
        };
        self.live.get_or_create(&labels).dec();
        self.memory
            .get_or_create(&labels)
            .observe(peak_memory as f64);
    }

    /// Every metric in Prometheus' text exposition format (OpenMetrics 1.0 text, which
    /// Prometheus scrapes as is).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The `route` labels handed out so far.
#[derive(Default)]
struct Routes(std::sync::Mutex<std::collections::HashSet<String>>);

impl Routes {
    /// A request's `route` label: its path (cut to [`MAX_ROUTE_LABEL`] bytes) while fewer than
    /// [`MAX_ROUTES`] paths have been seen, `other` after that, and `unmatched` for 404/405,
    /// whose paths are whatever a client sent.
    fn label(&self, path: &str, status: u16) -> String {
        if matches!(status, 404 | 405) {
            return "unmatched".to_string();
        }
        let mut end = path.len().min(MAX_ROUTE_LABEL);
        while !path.is_char_boundary(end) {
            end -= 1;
        }
        let path = &path[..end];
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(path) {
            return path.to_string();
        }
        if seen.len() >= MAX_ROUTES {
            return "other".to_string();
        }
        seen.insert(path.to_string());
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_appear_in_the_text_format() {
        let m = Metrics::new();
        m.request_done(&RequestRecord {
            component: "gateway",
            method: "POST",
            path: "/api/asr",
            status: 200,
            bytes_in: 1000,
            bytes_out: 20,
            duration: Duration::from_millis(30),
        });
        m.request_done(&RequestRecord {
            component: "gateway",
            method: "GET",
            path: "/no/such/thing",
            status: 404,
            bytes_in: 0,
            bytes_out: 10,
            duration: Duration::from_millis(1),
        });
        m.component_answered("asr", 400, Some("invalid_audio"));
        m.audio("asr", AudioKind::Transcribed, 11.0);
        m.audio("asr", AudioKind::Transcribed, f64::NAN);
        m.instance_started("asr", Duration::from_millis(40));
        m.instance_started("asr", Duration::from_millis(40));
        m.instance_dropped("asr", 300 << 20);
        let text = m.encode();
        for line in [
            r#"vox_http_requests_total{component="gateway",method="POST",route="/api/asr",status="200"} 1"#,
            r#"vox_http_requests_total{component="gateway",method="GET",route="unmatched",status="404"} 1"#,
            r#"vox_http_body_bytes_total{component="gateway",direction="in"} 1000"#,
            r#"vox_component_requests_total{component="asr",status="400"} 1"#,
            r#"vox_component_errors_total{component="asr",code="invalid_audio"} 1"#,
            r#"vox_audio_seconds_total{component="asr",kind="transcribed"} 11.0"#,
            r#"vox_instances_live{component="asr"} 1"#,
            r#"vox_instances_started_total{component="asr"} 2"#,
            r#"vox_instance_memory_bytes_bucket{le="536870912.0",component="asr"} 1"#,
            r#"vox_instance_memory_bytes_bucket{le="268435456.0",component="asr"} 0"#,
            r#"vox_http_request_duration_seconds_count{component="gateway",route="/api/asr"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
    }

    #[test]
    fn route_labels_are_bounded() {
        let routes = Routes::default();
        assert_eq!(routes.label("/api/asr", 200), "/api/asr");
        assert_eq!(routes.label("/random/junk", 404), "unmatched");
        assert_eq!(routes.label("/api/asr", 405), "unmatched");
        let long = format!("/{}", "é".repeat(100));
        assert!(routes.label(&long, 400).len() <= MAX_ROUTE_LABEL);
        for i in 0..2 * MAX_ROUTES {
            routes.label(&format!("/p{i}"), 401);
        }
        assert_eq!(routes.label("/p-new", 401), "other");
        assert_eq!(routes.label("/api/asr", 200), "/api/asr");
    }
}
