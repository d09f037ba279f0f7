//! The one wasmtime engine every component runs on, configured for spin-sdk 7 components.

use std::time::Duration;

use wasmtime::{Config, Engine, OptLevel};

/// How often the epoch ticks: the granularity at which busy guests yield to the host.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

pub fn new_engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // spin-sdk 7 exports wasi:http@0.3, which needs the component-model async ABI.
    config.wasm_component_model_async(true);
    config.wasm_component_model_more_async_builtins(true);
    config.wasm_component_model_error_context(true);
    config.wasm_simd(true);
    config.wasm_relaxed_simd(true);
    config.cranelift_opt_level(OptLevel::Speed);
    config.parallel_compilation(true);
    // Epoch interruption lets a busy guest yield so timeouts and other requests still run.
    config.epoch_interruption(true);
    Engine::new(&config).map_err(anyhow::Error::from)
}

/// Ticks the engine's epoch until the returned guard is dropped.
pub struct EpochTicker {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("vox-epoch".into())
            .spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn epoch thread");
        Self { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
