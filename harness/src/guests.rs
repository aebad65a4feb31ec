//! Guests: discovery of `go-guests/<guest>/`, their scenarios, and building each one as a Go
//! reactor with the Go toolchain on PATH, cached by source and toolchain version.

use crate::scenario::{self, Scenario};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// The oldest Go with `//go:wasmexport` and `-buildmode=c-shared` for wasip1.
pub const MIN_GO: (u32, u32) = (1, 24);

/// How a guest is built: as a reactor (the default) or, for the ABI's command-mode items, as a
/// command that exports `_start` (and its wasmexport functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildMode {
    #[default]
    Reactor,
    Command,
}

impl BuildMode {
    /// The `go build` flags; part of the cache key.
    fn args(self) -> &'static [&'static str] {
        match self {
            BuildMode::Reactor => &["build", "-buildmode=c-shared", "-trimpath", "-o"],
            BuildMode::Command => &["build", "-trimpath", "-o"],
        }
    }
}

/// `go-guests/<guest>/guest.toml`, optional.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GuestFile {
    #[serde(default)]
    build: BuildMode,
}

/// A failure to set up or build guests: the CLI exits 2 on it.
#[derive(Debug)]
pub struct SetupError(pub String);
impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SetupError {}

#[derive(Debug, Clone)]
pub struct Guest {
    pub name: String,
    pub dir: PathBuf,
    pub build: BuildMode,
    pub scenarios: Vec<Scenario>,
}

/// A guest compiled to a reactor module.
#[derive(Debug, Clone)]
pub struct BuiltGuest {
    pub guest: Guest,
    pub go: String,
    pub wasm: Arc<Vec<u8>>,
    pub path: PathBuf,
}

/// Every guest folder (one with a go.mod) under `dir`, in name order, with its scenarios.
pub fn discover(dir: &Path) -> Result<Vec<Guest>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the guests directory {}", dir.display()))?;
    let mut guests = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if !path.join("go.mod").is_file() {
            continue;
        }
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let scenarios_file = path.join("scenarios.toml");
        let scenarios = if scenarios_file.is_file() {
            scenario::load(&scenarios_file).with_context(|| format!("guest `{name}`"))?
        } else {
            Vec::new()
        };
        let guest_file = path.join("guest.toml");
        let build = if guest_file.is_file() {
            let text = std::fs::read_to_string(&guest_file)
                .with_context(|| format!("reading {}", guest_file.display()))?;
            toml::from_str::<GuestFile>(&text)
                .with_context(|| format!("in {}", guest_file.display()))?
                .build
        } else {
            BuildMode::Reactor
        };
        guests.push(Guest {
            name,
            dir: path,
            build,
            scenarios,
        });
    }
    guests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(guests)
}

/// The Go toolchain that builds guests.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub go: PathBuf,
    /// As `go env GOVERSION` prints it, e.g. `go1.26.8`.
    pub version: String,
}

pub fn go_command(go: &Path) -> Command {
    let mut cmd = Command::new(go);
    // Build with exactly this toolchain, outside any workspace, without cgo.
    cmd.env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("CGO_ENABLED", "0");
    cmd.env_remove("GOFLAGS");
    cmd
}

/// Parses `go1.26.8` (or `go1.24rc1`) to (1, 26).
pub fn parse_go_version(v: &str) -> Option<(u32, u32)> {
    let rest = v.strip_prefix("go")?;
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Finds `go` on PATH (or `$REACTOR_HARNESS_GO`) and checks that it is recent enough.
pub fn toolchain() -> Result<Toolchain, SetupError> {
    let go = std::env::var_os("REACTOR_HARNESS_GO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("go"));
    let out = go_command(&go).args(["env", "GOVERSION"]).output().map_err(|e| {
        SetupError(format!(
            "cannot run the Go toolchain `{}` ({e}); install Go {}.{} or newer and put `go` on PATH",
            go.display(),
            MIN_GO.0,
            MIN_GO.1
        ))
    })?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || version.is_empty() {
        return Err(SetupError(format!(
            "`{} env GOVERSION` failed: {}",
            go.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    match parse_go_version(&version) {
        Some(v) if v >= MIN_GO => Ok(Toolchain { go, version }),
        _ => Err(SetupError(format!(
            "Go {} is too old to build reactors: //go:wasmexport and -buildmode=c-shared for wasip1 need Go {}.{} or newer",
            version, MIN_GO.0, MIN_GO.1
        ))),
    }
}

/// The cache key: every source file of the guest (scenarios excluded: they do not change the
/// module), the toolchain version and the build flags.
fn source_digest(guest: &Guest, toolchain: &Toolchain) -> Result<String> {
    let args = guest.build.args().join(" ");
    crate::paths::digest_sources(
        &guest.dir,
        &["scenarios.toml", "guest.toml"],
        &[&toolchain.version, &args],
    )
    .with_context(|| format!("reading the sources of guest `{}`", guest.name))
}

/// Builds (or takes from the cache) one guest as a reactor module.
pub fn build(guest: &Guest, toolchain: &Toolchain) -> Result<BuiltGuest> {
    let digest = source_digest(guest, toolchain)?;
    let out_dir = crate::paths::cache_dir()
        .join("guests")
        .join(&toolchain.version);
    let path = out_dir.join(format!("{}-{digest}.wasm", guest.name));
    if !path.is_file() {
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("creating {}", out_dir.display()))?;
        let tmp = out_dir.join(format!(
            "{}-{digest}.wasm.tmp{}",
            guest.name,
            std::process::id()
        ));
        let output = go_command(&toolchain.go)
            .args(guest.build.args())
            .arg(&tmp)
            .arg(".")
            .current_dir(&guest.dir)
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm")
            .output()
            .map_err(|e| {
                SetupError(format!(
                    "guest `{}`: cannot run `{}`: {e}",
                    guest.name,
                    toolchain.go.display()
                ))
            })?;
        if !output.status.success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(SetupError(format!(
                "guest `{}` ({}) does not build with {}:\n{}",
                guest.name,
                guest.dir.display(),
                toolchain.version,
                String::from_utf8_lossy(&output.stderr).trim_end()
            ))
            .into());
        }
        std::fs::rename(&tmp, &path).with_context(|| format!("storing {}", path.display()))?;
    }
    let wasm = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(BuiltGuest {
        guest: guest.clone(),
        go: toolchain.version.clone(),
        wasm: Arc::new(wasm),
        path,
    })
}

/// Builds every guest; the first failure is returned with the compiler's output.
pub fn build_all(guests: &[Guest], toolchain: &Toolchain) -> Result<Vec<BuiltGuest>> {
    guests.iter().map(|g| build(g, toolchain)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions_parse() {
        assert_eq!(parse_go_version("go1.26.8"), Some((1, 26)));
        assert_eq!(parse_go_version("go1.24rc1"), Some((1, 24)));
        assert_eq!(parse_go_version("devel"), None);
        assert!(parse_go_version("go1.23.4").unwrap() < MIN_GO);
    }
}
