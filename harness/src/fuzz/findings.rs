//! Findings on disk: one folder per divergence or engine crash, written atomically and never
//! overwritten, holding everything needed to reproduce it with `reactor-harness replay DIR`.
//!
//! ```text
//! findings/<target>/<id>/
//!   README.md        what diverged, on which engines, and the one-line command that reproduces it
//!   module.wasm      the module (module.wat beside it when the module is small enough to read)
//!   plan.toml        the steps, in order (see fuzz::Plan)
//!   origin.txt       where the module came from (wasm-smith, or a guest and its Go release)
//!   signature.txt    what makes it the same bug as another finding (see [`signature`])
//!   traces/<engine>.json   each engine's raw trace
//! ```
//! `<id>` is a digest of the module and the plan, so the same finding found twice is one folder.

use super::{Case, Checked, Plan};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Modules larger than this get no `.wat` (a Go guest's text form is tens of megabytes).
const WAT_LIMIT: usize = 256 * 1024;

/// Where findings go: `REACTOR_HARNESS_FINDINGS`, or `findings/` at the repository root.
pub fn dir() -> PathBuf {
    std::env::var_os("REACTOR_HARNESS_FINDINGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::paths::repo_root().join("findings"))
}

fn id(case: &Case, plan_text: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(case.wasm.as_slice());
    h.update(plan_text.as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// What makes two findings the same bug, as far as a machine can tell: which engines diverge, at
/// what kind of place, with what classes of outcome on each side (numbers masked, first line
/// only); or which engine crashed, or failed which kind of expectation. Used to write one finding
/// per signature (a campaign meets the same bug in thousands of inputs) and by `shrink` to keep
/// the same bug while cutting.
pub fn signature(checked: &Checked) -> Option<String> {
    let class = |text: &str| -> String {
        let first = text.lines().next().unwrap_or_default();
        let masked: String = first
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect();
        masked.chars().take(80).collect()
    };
    let summary = match &checked.verdict {
        super::CaseVerdict::Finding(s) => s,
        _ => return None,
    };
    if summary.contains(" crashed: ") || summary.contains("expectation failed") {
        return Some(class(summary));
    }
    let mut parts: Vec<String> = checked
        .judgement
        .divergences
        .iter()
        .filter(|(_, d)| !d.nondeterministic)
        .map(|(e, d)| {
            format!(
                "{e} {}: {} / {}",
                d.what,
                class(&d.reference),
                class(&d.other)
            )
        })
        .collect();
    parts.sort();
    Some(parts.join("; "))
}

/// An existing finding of `target` under `root` with this signature.
pub fn same_as(root: &Path, target: &str, signature: &str) -> Option<PathBuf> {
    std::fs::read_dir(root.join(target)).ok()?.find_map(|e| {
        let dir = e.ok()?.path();
        let text = std::fs::read_to_string(dir.join("signature.txt")).ok()?;
        (text.trim_end() == signature).then_some(dir)
    })
}

/// Writes the finding under `root/<target>/<id>/` and returns that path. The folder is built
/// under a temporary name and renamed into place, so a reader (or a later crash) never sees half
/// of one; an existing finding with the same id is kept as it is.
pub fn write(root: &Path, case: &Case, checked: &Checked) -> Result<PathBuf> {
    let plan_text = toml::to_string(&case.plan).context("serialising the plan")?;
    let id = id(case, &plan_text);
    let parent = root.join(&case.target);
    let dest = parent.join(&id);
    if dest.exists() {
        return Ok(dest);
    }
    let tmp = parent.join(format!(".tmp-{id}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("traces"))
        .with_context(|| format!("creating {}", tmp.display()))?;
    let put = |name: &str, bytes: &[u8]| {
        std::fs::write(tmp.join(name), bytes).with_context(|| format!("writing {name}"))
    };
    put("module.wasm", &case.wasm)?;
    if case.wasm.len() <= WAT_LIMIT {
        if let Ok(wat) = wasmprinter::print_bytes(case.wasm.as_slice()) {
            put("module.wat", wat.as_bytes())?;
        }
    }
    put("plan.toml", plan_text.as_bytes())?;
    put("origin.txt", format!("{}\n", case.origin).as_bytes())?;
    if let Some(sig) = signature(checked) {
        put("signature.txt", format!("{sig}\n").as_bytes())?;
    }
    for (engine, trace) in &checked.traces {
        let json = serde_json::to_string_pretty(trace)?;
        put(&format!("traces/{engine}.json"), json.as_bytes())?;
    }
    let summary = match &checked.verdict {
        super::CaseVerdict::Finding(s) => s.clone(),
        other => format!("{other:?}"),
    };
    let mut readme = format!(
        "# {} finding {id}\n\n{summary}\n\nReproduce (from the repository root):\n\n    cargo run --release -- replay {}\n\nOrigin: {}\n",
        case.target,
        dest.display(),
        case.origin
    );
    for (engine, d) in &checked.judgement.divergences {
        readme.push_str(&format!(
            "\n## {engine} vs {}: {}, {} differs\n\n--- {}\n{}\n\n+++ {engine}\n{}\n",
            checked.judgement.reference.as_deref().unwrap_or("?"),
            d.place(),
            d.what,
            checked.judgement.reference.as_deref().unwrap_or("?"),
            d.reference,
            d.other
        ));
    }
    put("README.md", readme.as_bytes())?;
    match std::fs::rename(&tmp, &dest) {
        Ok(()) => Ok(dest),
        // Another process wrote the same finding first: theirs stands.
        Err(_) if dest.exists() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(dest)
        }
        Err(e) => Err(e).with_context(|| format!("renaming {} into place", tmp.display())),
    }
}

/// Reads a finding (or any folder with `module.wasm` or `module.wat`, and `plan.toml`) back as a
/// case, to replay it.
pub fn read(path: &Path) -> Result<Case> {
    let wasm = match std::fs::read(path.join("module.wasm")) {
        Ok(w) => w,
        Err(_) => {
            let wat = path.join("module.wat");
            wat::parse_file(&wat).with_context(|| {
                format!(
                    "{}: no module.wasm, and module.wat does not parse",
                    path.display()
                )
            })?
        }
    };
    let plan_file = path.join("plan.toml");
    let text = std::fs::read_to_string(&plan_file)
        .with_context(|| format!("reading {}", plan_file.display()))?;
    let plan: Plan =
        toml::from_str(&text).with_context(|| format!("in {}", plan_file.display()))?;
    let origin = std::fs::read_to_string(path.join("origin.txt"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| path.display().to_string());
    // findings/<target>/<id>: the target is the parent folder's name.
    let target = path
        .canonicalize()
        .ok()
        .and_then(|p| {
            p.parent()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "replay".into());
    Ok(Case {
        target,
        wasm: Arc::new(wasm),
        origin,
        plan,
        transient: true,
    })
}
