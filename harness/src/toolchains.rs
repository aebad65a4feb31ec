//! The Go toolchain matrix: which Go releases build the guests (`harness/go-releases.toml`), and
//! fetching each one the ordinary way, `GOTOOLCHAIN=<release>` through the Go module proxy.

use crate::guests::{self, SetupError, Toolchain};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Releases {
    pub default: String,
    pub releases: Vec<String>,
}

pub fn releases_file() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("go-releases.toml")
}

pub fn releases() -> Result<Releases> {
    let path = releases_file();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let r: Releases = toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
    for v in r.releases.iter().chain([&r.default]) {
        check_release(v).with_context(|| format!("in {}", path.display()))?;
    }
    Ok(r)
}

fn check_release(v: &str) -> Result<(), SetupError> {
    match guests::parse_go_version(v) {
        Some(mv) if mv >= guests::MIN_GO && v.matches('.').count() == 2 => Ok(()),
        _ => Err(SetupError(format!(
            "`{v}` is not a Go release the suite can use (a full release name like go1.26.11, Go {}.{} or newer)",
            guests::MIN_GO.0,
            guests::MIN_GO.1
        ))),
    }
}

/// Resolves `--go` values: nothing means the default release, `all` every release, otherwise
/// the releases named (comma-separated lists allowed).
pub fn select(spec: &[String]) -> Result<Vec<String>> {
    let r = releases()?;
    let mut out: Vec<String> = Vec::new();
    for item in spec
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let add: Vec<String> = match item {
            "all" => r.releases.clone(),
            "default" => vec![r.default.clone()],
            v => {
                check_release(v)?;
                vec![v.to_string()]
            }
        };
        for v in add {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    if out.is_empty() {
        out.push(r.default);
    }
    Ok(out)
}

/// The toolchain for one release: the bootstrap `go` itself when it is that release, otherwise
/// the release fetched by it with GOTOOLCHAIN (cached per process; Go caches across runs).
pub fn toolchain(release: &str) -> Result<Toolchain, SetupError> {
    static FETCHED: Mutex<Option<HashMap<String, Toolchain>>> = Mutex::new(None);
    if let Some(t) = FETCHED
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .get(release)
    {
        return Ok(t.clone());
    }
    check_release(release)?;
    let bootstrap = guests::toolchain()?;
    let toolchain = if bootstrap.version == release {
        bootstrap
    } else {
        let out = std::process::Command::new(&bootstrap.go)
            .args(["env", "GOROOT"])
            .env("GOTOOLCHAIN", release)
            .env("GOWORK", "off")
            .env_remove("GOFLAGS")
            .output()
            .map_err(|e| SetupError(format!("cannot run {}: {e}", bootstrap.go.display())))?;
        let root = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let go = PathBuf::from(&root).join("bin").join("go");
        if !out.status.success() || !go.is_file() {
            return Err(SetupError(format!(
                "cannot fetch Go {release} with {} (GOTOOLCHAIN={release}, through the Go module proxy): {}",
                bootstrap.version,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Toolchain {
            go,
            version: release.to_string(),
        }
    };
    FETCHED
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(release.to_string(), toolchain.clone());
    Ok(toolchain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_list_is_valid_and_selection_expands_all_and_default() {
        let r = releases().unwrap();
        assert!(r.releases.len() >= 4);
        assert!(r.releases.contains(&r.default));
        assert_eq!(select(&[]).unwrap(), vec![r.default.clone()]);
        assert_eq!(select(&["all".into()]).unwrap(), r.releases);
        assert_eq!(
            select(&["go1.24.13,default".into()]).unwrap(),
            vec!["go1.24.13".to_string(), r.default]
        );
        assert!(select(&["go1.23.4".into()]).is_err(), "too old");
        assert!(select(&["1.26".into()]).is_err(), "not a release name");
    }
}
