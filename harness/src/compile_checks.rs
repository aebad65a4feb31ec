//! The rejected-type suite: small Go programs under `go-guests/compile-checks/<case>/` that Go
//! must refuse (or, for each one's accepted twin, build), with the compiler's diagnostic checked,
//! per Go release (ABI items 15 to 19).

use crate::guests::{go_command, Toolchain};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The folder of compile checks inside the guests directory.
pub const DIR: &str = "compile-checks";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Reject,
    Accept,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    about: String,
    #[serde(default)]
    abi: Vec<u32>,
    expect: Expect,
    #[serde(default)]
    diagnostics: Vec<String>,
    #[serde(default)]
    twin: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub about: String,
    pub abi: Vec<u32>,
    pub expect: Expect,
    pub diagnostics: Vec<String>,
}

/// The outcome of one case on one release.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckResult {
    pub case: String,
    pub go: String,
    pub expected: Expect,
    pub ok: bool,
    /// Whether the build succeeded.
    pub built: bool,
    /// The compiler's diagnostics, one per line, without file positions (they name temp paths).
    pub diagnostics: Vec<String>,
    /// Why `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Every case under `<guests_dir>/compile-checks`, in name order; an empty list if there is none.
pub fn discover(guests_dir: &Path) -> Result<Vec<Case>> {
    let root = guests_dir.join(DIR);
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Ok(vec![]);
    };
    let mut cases = Vec::new();
    for entry in entries {
        let dir = entry?.path();
        let file = dir.join("check.toml");
        if !file.is_file() {
            continue;
        }
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let c: CheckFile =
            toml::from_str(&text).with_context(|| format!("in {}", file.display()))?;
        if c.expect == Expect::Reject && c.diagnostics.is_empty() {
            bail!(
                "{}: a rejected case must name the diagnostics it expects",
                file.display()
            );
        }
        if let Some(twin) = &c.twin {
            if !root.join(twin).join("check.toml").is_file() {
                bail!("{}: its twin `{twin}` does not exist", file.display());
            }
        }
        cases.push(Case {
            name,
            dir,
            about: c.about,
            abi: c.abi,
            expect: c.expect,
            diagnostics: c.diagnostics,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// Strips `path/main.go:6:6: ` (module-relative or `./`-relative) from a compiler line.
fn strip_position(line: &str) -> String {
    if let Some(at) = line.find(".go:") {
        let rest = &line[at + 4..];
        let after = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':');
        if after.len() < rest.len() {
            return after.trim_start().to_string();
        }
    }
    line.trim().to_string()
}

/// The diagnostics worth keeping: not the `# package` header, not blank lines.
fn diagnostics_of(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| !l.starts_with("# ") && !l.trim().is_empty())
        .map(strip_position)
        .collect()
}

fn judge(case: &Case, go: &str, built: bool, output: &str) -> CheckResult {
    let diagnostics = diagnostics_of(output);
    let joined = diagnostics.join("\n");
    let problem = match (case.expect, built) {
        (Expect::Accept, true) => None,
        (Expect::Accept, false) => Some(format!("Go refused a program it must accept:\n{joined}")),
        (Expect::Reject, true) => Some("Go built a program it must refuse".to_string()),
        (Expect::Reject, false) => {
            let missing: Vec<&String> = case
                .diagnostics
                .iter()
                .filter(|d| !joined.contains(d.as_str()))
                .collect();
            (!missing.is_empty())
                .then(|| format!("the diagnostics lack {missing:?}; Go said:\n{joined}"))
        }
    };
    CheckResult {
        case: case.name.clone(),
        go: go.to_string(),
        expected: case.expect,
        ok: problem.is_none(),
        built,
        diagnostics,
        problem,
    }
}

/// Builds one case with one toolchain, or takes the answer from the cache (keyed by the case's
/// files and the release: a compiler's verdict on the same source does not change).
pub fn run(case: &Case, toolchain: &Toolchain) -> Result<CheckResult> {
    let digest = crate::paths::digest_sources(&case.dir, &[], &[&toolchain.version])?;
    let cache = crate::paths::cache_dir()
        .join(DIR)
        .join(&toolchain.version)
        .join(format!("{}-{digest}.json", case.name));
    if let Ok(text) = std::fs::read_to_string(&cache) {
        if let Ok(cached) = serde_json::from_str::<(bool, String)>(&text) {
            return Ok(judge(case, &toolchain.version, cached.0, &cached.1));
        }
    }
    let out_dir = crate::paths::cache_dir().join(DIR).join("out");
    std::fs::create_dir_all(&out_dir)?;
    let out = go_command(&toolchain.go)
        .args(["build", "-buildmode=c-shared", "-trimpath", "-o"])
        .arg(out_dir.join(format!("{}-{}.wasm", case.name, toolchain.version)))
        .arg(".")
        .current_dir(&case.dir)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .output()
        .with_context(|| {
            format!(
                "compile check `{}`: running {}",
                case.name,
                toolchain.go.display()
            )
        })?;
    let output = String::from_utf8_lossy(&out.stderr).into_owned();
    let built = out.status.success();
    let _ = crate::paths::write_atomically(
        &cache,
        serde_json::to_string(&(built, &output))?.as_bytes(),
    );
    Ok(judge(case, &toolchain.version, built, &output))
}

/// Runs every case with every toolchain, on a few threads.
pub fn run_all(cases: &[Case], toolchains: &[Toolchain]) -> Result<Vec<CheckResult>> {
    let jobs: Vec<(&Case, &Toolchain)> = toolchains
        .iter()
        .flat_map(|t| cases.iter().map(move |c| (c, t)))
        .collect();
    let results = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((case, toolchain)) = jobs.get(i) else {
                    break;
                };
                let r = run(case, toolchain);
                results.lock().unwrap().push((i, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(expect: Expect, diagnostics: &[&str]) -> Case {
        Case {
            name: "c".into(),
            dir: PathBuf::new(),
            about: String::new(),
            abi: vec![],
            expect,
            diagnostics: diagnostics.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn positions_are_stripped_from_both_path_styles() {
        assert_eq!(
            strip_position(
                "compilecheck/x/main.go:6:6: go:wasmexport: unsupported parameter type int"
            ),
            "go:wasmexport: unsupported parameter type int"
        );
        assert_eq!(
            strip_position("./main.go:9:1: misplaced go:wasmexport directive"),
            "misplaced go:wasmexport directive"
        );
        assert_eq!(
            diagnostics_of("# compilecheck/x\n./main.go:9:1: a\n\n"),
            vec!["a".to_string()]
        );
    }

    #[test]
    fn each_way_a_case_can_fail_is_caught() {
        let reject = case(Expect::Reject, &["unsupported parameter type int"]);
        assert!(
            judge(
                &reject,
                "go1.26.11",
                false,
                "x/main.go:3:6: go:wasmexport: unsupported parameter type int"
            )
            .ok
        );
        assert!(
            !judge(&reject, "go1.26.11", true, "").ok,
            "built what it must refuse"
        );
        assert!(
            !judge(&reject, "go1.26.11", false, "x/main.go:3:6: something else").ok,
            "wrong diagnostic"
        );
        let accept = case(Expect::Accept, &[]);
        assert!(judge(&accept, "go1.26.11", true, "").ok);
        assert!(!judge(&accept, "go1.26.11", false, "x/main.go:1:1: nope").ok);
    }
}
