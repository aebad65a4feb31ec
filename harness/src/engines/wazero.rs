//! wazero (Go), compiler and interpreter, through the host program in harness/hosts/wazero: built
//! on demand with the same Go toolchain as the guests (its go.mod pins the wazero release).

use super::process::{Launcher, ProcessEngine};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub fn compiler() -> ProcessEngine {
    ProcessEngine::new(
        "wazero",
        "wazero, optimizing compiler (Go host, wasi_snapshot_preview1)",
        Box::new(Wazero("wazero")),
    )
}

pub fn interpreter() -> ProcessEngine {
    ProcessEngine::new(
        "wazero-interp",
        "wazero, interpreter (Go host, wasi_snapshot_preview1)",
        Box::new(Wazero("wazero-interp")),
    )
}

struct Wazero(&'static str);

impl Launcher for Wazero {
    fn command(&self) -> Result<Command, String> {
        let mut c = Command::new(host_binary()?);
        c.args(["--engine", self.0]);
        Ok(c)
    }
}

fn source_dir() -> PathBuf {
    crate::paths::repo_root().join("harness/hosts/wazero")
}

/// Builds the host once per run (and once per source and toolchain across runs).
fn host_binary() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> Result<PathBuf, String> {
    // The host is built with the default release (its go.mod needs a newer Go than the oldest
    // guest release), whatever releases the guests are built with.
    let default = crate::toolchains::releases()
        .map_err(|e| format!("{e:#}"))?
        .default;
    let toolchain = crate::toolchains::toolchain(&default)
        .map_err(|e| format!("the wazero host needs Go {default}: {e}"))?;
    let dir = source_dir();
    let digest = crate::paths::digest_sources(&dir, &[], &[&toolchain.version])
        .map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let out = crate::paths::cache_dir()
        .join("hosts")
        .join(format!("wazero-{digest}"));
    if out.is_file() {
        return Ok(out);
    }
    let tmp = out.with_extension(format!("tmp{}", std::process::id()));
    let result = crate::guests::go_command(&toolchain.go)
        .args(["build", "-trimpath", "-o"])
        .arg(&tmp)
        .arg(".")
        .current_dir(&dir)
        .env("GOFLAGS", "-mod=readonly")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", toolchain.go.display()))?;
    if !result.status.success() {
        return Err(format!(
            "building the wazero host ({}) failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&result.stderr).trim_end()
        ));
    }
    std::fs::rename(&tmp, &out).map_err(|e| format!("storing {}: {e}", out.display()))?;
    Ok(out)
}
