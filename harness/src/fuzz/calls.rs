//! Fuzz target `calls`: arbitrary sequences of export calls on the dedicated fuzz guest
//! (go-guests/fuzz: many signatures, package state, goroutines that spawn, yield, sleep and hand
//! off on channels, host callbacks), with arguments typed by the export signatures read from the
//! module, diffed across engines. This is where goroutines suspended across calls get fuzzed.

use super::module::{exports, Export};
use super::{Case, Oracle, Plan};
use crate::guests;
use anyhow::Context;
use arbitrary::{Result, Unstructured};
use std::sync::{Arc, OnceLock};

/// The fuzz guest, built once per process with the default Go toolchain.
pub struct FuzzGuest {
    pub wasm: Arc<Vec<u8>>,
    /// "guest fuzz, go1.26.11".
    pub origin: String,
    /// Its exported functions, `_initialize` excluded.
    pub exports: Vec<Export>,
}

/// Builds (or takes from the guest cache) go-guests/fuzz. Panics with the reason when it cannot:
/// a fuzz target without its guest has nothing to do.
pub fn guest() -> &'static FuzzGuest {
    static GUEST: OnceLock<FuzzGuest> = OnceLock::new();
    GUEST.get_or_init(|| build().unwrap_or_else(|e| panic!("building the fuzz guest: {e:#}")))
}

fn build() -> anyhow::Result<FuzzGuest> {
    let all = guests::discover(&crate::paths::default_guests_dir())?;
    let g = all
        .iter()
        .find(|g| g.name == "fuzz")
        .context("go-guests/fuzz is missing")?;
    // The default release of harness/go-releases.toml, as `run` uses.
    let release = crate::toolchains::select(&[])?.remove(0);
    let toolchain = crate::toolchains::toolchain(&release)?;
    let built = guests::build(g, &toolchain)?;
    let exports = exports(&built.wasm)?
        .into_iter()
        .filter(|e| e.name != "_initialize")
        .collect();
    Ok(FuzzGuest {
        origin: format!("guest fuzz ({}), {}", built.path.display(), built.go),
        wasm: built.wasm,
        exports,
    })
}

/// A case: `_initialize`, then up to 16 calls of arbitrary exports with arbitrary arguments.
pub fn case(_oracle: &Oracle, u: &mut Unstructured) -> Result<Case> {
    let g = guest();
    let exports: Vec<&Export> = g.exports.iter().collect();
    let mut plan = Plan::default();
    plan.call("_initialize", &[]);
    for _ in 0..u.int_in_range(1..=16)? {
        super::arbitrary_call(u, &mut plan, &exports)?;
    }
    Ok(Case {
        target: "calls".into(),
        wasm: g.wasm.clone(),
        origin: g.origin.clone(),
        plan,
        transient: false,
    })
}
