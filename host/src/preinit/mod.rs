//! `vox preinit`: runs a component's own initialisation (its `vox:preinit/init` export) in the
//! environment `spin.toml` gives it, then snapshots its memory into a new component with
//! wasmtime-wizer. Instances of the snapshot start with the models already loaded.

mod fingerprint;
mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use wasmtime::component::Component;
use wasmtime_wizer::Wizer;

use crate::config::{App, ComponentSpec};
use crate::files::write_atomically;
use crate::logging::ComponentLogs;
use crate::runtime::chaining::OutboundHooks;
use crate::runtime::cpu::CpuMeter;
use crate::runtime::engine;
use crate::runtime::export::initialize;
use crate::runtime::memory::MemoryLimiter;
use crate::runtime::nn::{self, GraphCache};
use crate::runtime::store::{self, Budget};

/// The interface a component exports to be pre-initialised.
pub use crate::runtime::export::INIT_INTERFACE;

/// What one pre-initialisation did.
#[derive(Debug)]
pub struct Report {
    pub output: PathBuf,
    /// False when the snapshot was already up to date and nothing ran.
    pub rebuilt: bool,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub initialize: Duration,
    pub total: Duration,
}

/// Pre-initialises component `id` of the app in `manifest` from the plain build `input`,
/// writing the snapshot to `output` (by default the component's `source`). Does nothing when
/// the snapshot there was made from the same component, variables and files.
pub async fn preinit(
    manifest: &Path,
    id: &str,
    input: &Path,
    output: Option<&Path>,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let app = App::load(manifest)?;
    let spec = app
        .components
        .get(id)
        .with_context(|| format!("{} has no [component.{id}]", manifest.display()))?;
    let output = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| spec.source.clone());
    if same_file(input, &output) {
        bail!(
            "the snapshot would overwrite its input {}; give --output",
            input.display()
        );
    }
    let wasm = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let fingerprint =
        fingerprint::of(&wasm, spec).context("cannot read the component's mounted files")?;
    let stamp = stamp_path(&output);
    let mut report = Report {
        rebuilt: false,
        input_bytes: wasm.len() as u64,
        output_bytes: 0,
        initialize: Duration::ZERO,
        total: Duration::ZERO,
        output,
    };
    if report.output.is_file()
        && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == fingerprint)
    {
        report.output_bytes = std::fs::metadata(&report.output)?.len();
    } else {
        let (snapshot, initialize) = snapshot(&wasm, spec).await.with_context(|| {
            format!("cannot pre-initialise component.{id} ({})", input.display())
        })?;
        write_atomically(&report.output, &snapshot)?;
        write_atomically(&stamp, fingerprint.as_bytes())?;
        report.rebuilt = true;
        report.output_bytes = snapshot.len() as u64;
        report.initialize = initialize;
    }
    report.total = started.elapsed();
    Ok(report)
}

/// Instruments `wasm`, instantiates it as `vox up` would, calls its initialisation and
/// returns the snapshot of the result, with how long the initialisation itself took.
async fn snapshot(wasm: &[u8], spec: &ComponentSpec) -> anyhow::Result<(Vec<u8>, Duration)> {
    let mut wizer = Wizer::new();
    // Wizer can drop a top-level init function from the snapshot but not an interface (its
    // function renumbering assumes the former), so the export stays; calling it again on a
    // snapshot finds everything loaded and does nothing.
    wizer.keep_init_func(true);
    let (cx, instrumented) = wizer
        .instrument_component(wasm)
        .map_err(anyhow::Error::from)?;

    let engine = engine::new_engine()?;
    let component = Component::new(&engine, &instrumented).map_err(anyhow::Error::from)?;
    let linker = store::linker(&engine)?;
    let hooks = OutboundHooks::standalone(&spec.id, spec.outbound.clone());
    let logs = ComponentLogs::to_stderr()?;
    let mut store = store::new_store(
        &engine,
        spec,
        &logs,
        Box::new(hooks),
        Arc::new(spec.variables.clone()),
        // The snapshot is taken without a limit; instances of it run with theirs.
        Budget {
            memory: MemoryLimiter::new(None, Arc::default()),
            cpu: Arc::new(CpuMeter::new(None)),
        },
        // Graphs a component loads through wasi:nn live in the host, outside any snapshot:
        // the wasi:nn builds are not pre-initialised.
        nn::context(&Arc::new(GraphCache::new(1)), &spec.id),
    )?;
    let instance = linker
        .instantiate_async(&mut store, &component)
        .await
        .map_err(anyhow::Error::from)?;
    // Wizer reads each memory back as one `list<u8>`: the store allows a full 4 GiB wasm32
    // memory per host call (`store::new_store`).

    let started = Instant::now();
    initialize(&mut store, &instance).await?;
    let initialize = started.elapsed();

    let snapshot = wizer
        .snapshot_component(
            &cx,
            &mut snapshot::Snapshotting {
                store: &mut store,
                instance,
            },
        )
        .await
        .map_err(anyhow::Error::from)
        .context("cannot snapshot the initialised instance")?;
    Ok((snapshot, initialize))
}

/// `<output>.fingerprint`: what the snapshot at `output` was made from.
fn stamp_path(output: &Path) -> PathBuf {
    let mut path = output.as_os_str().to_owned();
    path.push(".fingerprint");
    PathBuf::from(path)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
