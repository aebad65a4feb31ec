//! Minimising a finding: drop plan steps, then shrink the module with wasm-shrink, keeping each
//! change only while the same divergence still happens. The result is a new finding beside the
//! original (which is never touched).

use super::{findings, Case, Oracle};
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::sync::Arc;

/// Modules larger than this are Go guests: their plan is minimised, the module is not (a Go
/// runtime shrunk at random stops being a Go reactor long before it gets small).
const SHRINK_MODULE_LIMIT: usize = 512 * 1024;

/// Minimises `case`, which must be a finding; writes the result under `root` and returns its path
/// and the sizes before and after (module bytes, plan steps).
pub fn shrink(
    oracle: &Oracle,
    case: &Case,
    attempts: u32,
    root: &std::path::Path,
) -> Result<(PathBuf, String)> {
    let first = oracle.check(case)?;
    let Some(wanted) = findings::signature(&first) else {
        bail!("the case is not a finding here (the engines agree or the case is poisoned): nothing to shrink");
    };
    let same = |c: &Case| {
        oracle
            .check(c)
            .ok()
            .and_then(|k| findings::signature(&k))
            .as_deref()
            == Some(wanted.as_str())
    };
    let mut best = case.clone();
    // Steps, from the last: a step that the divergence does not need goes.
    let mut i = best.plan.steps.len();
    while i > 0 {
        i -= 1;
        let mut candidate = best.clone();
        candidate.plan.steps.remove(i);
        if !candidate.plan.steps.is_empty() && same(&candidate) {
            best = candidate;
        }
    }
    if best.wasm.len() <= SHRINK_MODULE_LIMIT {
        let plan = best.plan.clone();
        let template = best.clone();
        let info = wasm_shrink::WasmShrink::default().attempts(attempts).run(
            best.wasm.to_vec(),
            |wasm: &[u8]| -> anyhow::Result<bool> {
                let candidate = Case {
                    wasm: Arc::new(wasm.to_vec()),
                    plan: plan.clone(),
                    ..template.clone()
                };
                Ok(same(&candidate))
            },
        )?;
        best.wasm = Arc::new(info.output);
    }
    let checked = oracle.check(&best)?;
    let sizes = format!(
        "module {} -> {} bytes, plan {} -> {} steps, still: {wanted}",
        case.wasm.len(),
        best.wasm.len(),
        case.plan.steps.len(),
        best.plan.steps.len()
    );
    best.origin = format!("{} (minimised)", case.origin);
    let path = findings::write(root, &best, &checked)?;
    Ok((path, sizes))
}
