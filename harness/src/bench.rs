//! Measures what each engine costs per stage of a reactor's life: compiling the module (cold,
//! no cache), instantiating it, `_initialize`, and one export call. Numbers for the README, not
//! assertions: compare ratios within one run on these shared machines.

use crate::engine::Engine;
use crate::pinned::Budget;
use crate::trace::{Outcome, Value};
use anyhow::{bail, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Set while benchmarking so that every compile is a cold one (adapters skip their on-disk cache).
pub const NO_COMPILE_CACHE: &str = "REACTOR_HARNESS_NO_COMPILE_CACHE";

pub fn compile_cache_disabled() -> bool {
    std::env::var_os(NO_COMPILE_CACHE).is_some()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Timings {
    pub engine: String,
    /// Medians over the iterations. Start-up is making the engine ready: configuring it in
    /// process, or starting a host process and reading its ready line out of process.
    pub startup: Duration,
    pub compile: Duration,
    pub instantiate: Duration,
    pub initialize: Duration,
    pub call: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Times the stages on `make_engine()`, a fresh engine each iteration so nothing is memoised.
pub fn measure(
    make_engine: impl Fn() -> Arc<dyn Engine>,
    wasm: &[u8],
    export: &str,
    args: &[Value],
    iterations: usize,
) -> Result<Timings> {
    let (mut startup, mut compile, mut instantiate, mut initialize, mut call) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut name = String::new();
    for _ in 0..iterations.max(1) {
        let engine = make_engine();
        name = engine.name().to_string();
        let t = Instant::now();
        if let Err(reason) = engine.availability() {
            bail!("{name} is unavailable: {reason}");
        }
        startup.push(t.elapsed());
        let t = Instant::now();
        let module = engine.load(wasm)?;
        compile.push(t.elapsed());
        let t = Instant::now();
        let mut instance = module.instantiate(Budget::default())?;
        instantiate.push(t.elapsed());
        let t = Instant::now();
        let init = instance.call("_initialize", &[]);
        initialize.push(t.elapsed());
        if !matches!(init, Outcome::Returned { .. }) {
            bail!("{name}: _initialize did not return: {init:?}");
        }
        // One call is too short to time alone: time a batch and divide.
        const BATCH: u32 = 200;
        let t = Instant::now();
        for _ in 0..BATCH {
            let out = instance.call(export, args);
            if !matches!(out, Outcome::Returned { .. }) {
                bail!("{name}: {export} did not return: {out:?}");
            }
        }
        call.push(t.elapsed() / BATCH);
    }
    Ok(Timings {
        engine: name,
        startup: median(startup),
        compile: median(compile),
        instantiate: median(instantiate),
        initialize: median(initialize),
        call: median(call),
    })
}
