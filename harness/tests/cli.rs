//! The command line as a user meets it: exit codes, setup errors that name what failed, the JSON
//! report's shape, and a spinning guest that ends as a timeout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reactor-harness"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fresh directory under target/ for one test's guests.
fn scratch(name: &str) -> PathBuf {
    let dir = repo().join("target").join("cli-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_guest_that_does_not_compile_is_exit_2_with_the_compilers_message() {
    let dir = scratch("broken");
    let guest = dir.join("broken");
    std::fs::create_dir_all(&guest).unwrap();
    std::fs::write(
        guest.join("go.mod"),
        "module example.com/broken\n\ngo 1.24\n",
    )
    .unwrap();
    std::fs::write(
        guest.join("main.go"),
        "package main\n\nfunc main() { notDefined() }\n",
    )
    .unwrap();
    let out = harness()
        .args(["build-guests", "--guests-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("guest `broken`"), "names the guest: {t}");
    assert!(
        t.contains("undefined: notDefined"),
        "carries the compiler's message: {t}"
    );
}

#[test]
fn a_missing_go_toolchain_is_exit_2_and_says_so() {
    let out = harness()
        .args(["build-guests"])
        .env("REACTOR_HARNESS_GO", "/nonexistent/go")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("cannot run the Go toolchain `/nonexistent/go`"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_bad_scenario_file_is_exit_2_naming_file_and_scenario() {
    let dir = scratch("bad-scenario");
    let guest = dir.join("lifecycle");
    copy_guest("lifecycle", &guest);
    std::fs::write(
        guest.join("scenarios.toml"),
        "[[scenario]]\nname = \"typo\"\n[[scenario.step]]\ncall = \"Incr\"\nresutl = \"i32:1\"\n",
    )
    .unwrap();
    let out = harness()
        .args(["run", "--guests-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("scenarios.toml") && t.contains("typo") && t.contains("resutl"),
        "{t}"
    );
}

fn copy_guest(name: &str, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["go.mod", "main.go"] {
        std::fs::copy(repo().join("go-guests").join(name).join(f), to.join(f)).unwrap();
    }
}

#[test]
fn a_failed_expectation_is_exit_1_and_is_reported_per_engine() {
    let dir = scratch("wrong-expectation");
    let guest = dir.join("lifecycle");
    copy_guest("lifecycle", &guest);
    // Both engines agree that Incr returns 101 after init; the scenario claims 7, so the spec
    // oracle must catch what the differential oracle cannot.
    std::fs::write(
        guest.join("scenarios.toml"),
        "[[scenario]]\nname = \"wrong\"\n[[scenario.step]]\ncall = \"_initialize\"\n[[scenario.step]]\ncall = \"Incr\"\nresult = \"i32:7\"\n",
    )
    .unwrap();
    let json = dir.join("report.json");
    let out = harness()
        .args(["run", "--guests-dir"])
        .arg(&dir)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let engines: Vec<&str> = report["cases"][0]["engines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(engines.len() >= 2, "{engines:?}");
    for engine in &engines {
        assert!(t.contains(&format!("lifecycle/wrong on {engine}: expectation failed at step 1: result: expected i32:7, got return i32:101")), "{t}");
    }
    let case = &report["cases"][0];
    assert_eq!(case["verdict"], "agree");
    assert_eq!(case["expectations_failed"], engines.len());
    assert_eq!(report["summary"]["expectations_failed"], engines.len());
}

#[test]
fn the_json_report_has_the_documented_shape() {
    let dir = scratch("json-shape");
    let json = dir.join("r.json");
    let out = harness()
        .args([
            "run",
            "--guest",
            "marshal",
            "--scenario",
            "int-extremes",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for e in r["engines"].as_array().unwrap() {
        for k in ["name", "implementation", "version", "available", "reason"] {
            assert!(e.get(k).is_some(), "engine record lacks {k}: {e}");
        }
    }
    let case = &r["cases"][0];
    for k in [
        "guest",
        "scenario",
        "go",
        "verdict",
        "expectations_checked",
        "expectations_failed",
        "engines",
    ] {
        assert!(case.get(k).is_some(), "case record lacks {k}: {case}");
    }
    assert!(case["expectations_checked"].as_u64().unwrap() > 0);
    for k in [
        "cases",
        "agree",
        "diverged",
        "known_divergence",
        "poisoned",
        "expectations_failed",
    ] {
        assert!(r["summary"].get(k).is_some(), "summary lacks {k}");
    }
    assert!(r["go"].as_array().unwrap()[0]
        .as_str()
        .unwrap()
        .starts_with("go1."));
}

#[test]
fn a_spinning_guest_ends_as_a_timeout_on_every_engine() {
    let dir = scratch("spin");
    let json = dir.join("r.json");
    let out = harness()
        .args([
            "run",
            "--guest",
            "goroutines",
            "--scenario",
            "spinning-goroutine-starves-export",
        ])
        .args([
            "--step-timeout-ms",
            "1000",
            "--step-fuel",
            "300000000",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    // The scenario itself expects `trap = "timeout"`; exit 0 means every engine produced it.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(r["cases"][0]["verdict"], "agree");
    assert_eq!(r["cases"][0]["expectations_failed"], 0);
}

#[test]
fn unknown_engines_and_guests_are_usage_errors() {
    let out = harness()
        .args(["run", "--engine", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("unknown engine `nosuch`; this build has: wasmtime, wasmtime-winch, wasmtime-pulley, wasmi, wazero, wazero-interp, node"), "{}", text(&out));
    let out = harness()
        .args(["run", "--guest", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no guest `nosuch`"), "{}", text(&out));
}

#[test]
fn engines_lists_every_engine_with_version_and_availability() {
    let out = harness().arg("engines").output().unwrap();
    assert!(out.status.success());
    let t = text(&out);
    for (engine, version) in [
        ("wasmtime ", "48.0.8"),
        ("wasmtime-winch", "48.0.8"),
        ("wasmtime-pulley", "48.0.8"),
        ("wasmi", "2.0.0"),
        ("wazero ", "v1.12.0"),
        ("wazero-interp", "v1.12.0"),
        ("node", "node 2"),
    ] {
        assert!(
            t.lines()
                .any(|l| l.starts_with(engine) && l.contains(version)),
            "{engine} {version}: {t}"
        );
    }
    assert!(t.lines().all(|l| l.contains("available")), "{t}");
}

/// Children of `pid` whose command line contains `needle`, from /proc.
fn children_matching(pid: u32, needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        // The parent pid is the 4th field, after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok());
        let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
        if ppid == Some(pid) && String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(child);
        }
    }
    found
}

#[test]
fn killing_a_host_process_mid_run_is_that_engines_crash_and_the_run_completes() {
    let dir = scratch("kill-host");
    let json = dir.join("r.json");
    // Build first, so that the run itself starts calling the guest at once.
    let built = harness()
        .args(["build-guests", "--guest", "goroutines"])
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built));
    // The spinning scenario keeps Node busy until the deadline (20 s here), long enough to kill
    // its host from outside, as an OOM killer or a segfault would. Every host that appears is
    // killed, so the retries on a fresh host (matrix::CRASH_RETRIES) crash too and the crash
    // counts.
    let mut child = harness()
        .args([
            "run",
            "--engine",
            "node",
            "--guest",
            "goroutines",
            "--scenario",
            "spinning-goroutine-starves-export",
        ])
        .args(["--step-timeout-ms", "20000", "--json"])
        .arg(&json)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let mut kills = 0;
    while child.try_wait().unwrap().is_none()
        && start.elapsed() < std::time::Duration::from_secs(120)
    {
        std::thread::sleep(std::time::Duration::from_millis(300));
        for pid in children_matching(child.id(), "host.mjs") {
            if Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .is_ok_and(|s| s.success())
            {
                kills += 1;
            }
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(kills > 0, "no node host process appeared");
    // Three attempts that each waited for the 20 s deadline would take a minute.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(50),
        "the run waited for deadlines instead of noticing the crashes"
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let failures = r["cases"][0]["failures"].to_string();
    // Killed inside the call it is an `engine_crash` trap; killed while idle, the next request
    // finds the pipe broken; killed earlier, a setup failure. Each time it is that engine's.
    assert!(
        failures.contains("node: the host process died")
            || failures.contains("node: writing to the host"),
        "{failures}"
    );
}
