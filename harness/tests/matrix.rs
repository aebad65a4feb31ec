//! The differential matrix under `cargo test`: one trial per guest x scenario x Go release x
//! engine, named `guest::scenario::go1.26.11::engine` so the ordinary filter selects them
//! (`cargo test -- lifecycle`, `cargo test -- ::go1.24.13::`), plus the rejected-type suite,
//! `compile-checks::case::release`. `REACTOR_HARNESS_TEST_GO` narrows the releases (default `all`).
//!
//! The reference engine's trial checks the scenario's expectations and compares its normalised
//! trace with the reviewed snapshot in snapshots/<go>/; every other engine's trial checks the
//! expectations and compares its trace with the reference engine's, step by step. An engine listed
//! in harness/expectations/<engine>.toml for a case must still diverge, or its trial fails.

use libtest_mimic::{Arguments, Failed, Trial};
use reactor_harness::diff::{first_divergence, KnownDivergences};
use reactor_harness::engine::{self, Engine};
use reactor_harness::guests::{self, BuiltGuest};
use reactor_harness::matrix::{run_on_engine, EngineRun};
use reactor_harness::pinned::Budget;
use reactor_harness::{compile_checks, paths, toolchains};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

type Key = (String, String, String, String);

/// Each engine's run of each case, computed once and shared by the trials that need it.
#[derive(Default)]
struct Runs(Mutex<HashMap<Key, Arc<OnceLock<EngineRun>>>>);

impl Runs {
    fn get(
        &self,
        engine: &Arc<dyn Engine>,
        guest: &BuiltGuest,
        scenario: &str,
        known: &KnownDivergences,
    ) -> EngineRun {
        let key = (
            guest.guest.name.clone(),
            scenario.to_string(),
            guest.go.clone(),
            engine.name().to_string(),
        );
        let cell = self.0.lock().unwrap().entry(key).or_default().clone();
        cell.get_or_init(|| {
            let s = guest
                .guest
                .scenarios
                .iter()
                .find(|s| s.name == scenario)
                .expect("scenario exists");
            run_on_engine(engine, guest, s, known, Budget::default())
        })
        .clone()
    }
}

fn main() {
    let args = Arguments::from_args();
    let trials = match trials() {
        Ok(t) => t,
        // A setup failure (no Go, a guest that does not compile, a bad scenario file) is one
        // failing trial that says what went wrong, not a silently empty matrix.
        Err(e) => vec![Trial::test("setup::build-guests", move || {
            Err(format!("{e:#}").into())
        })],
    };
    libtest_mimic::run(&args, trials).exit();
}

fn trials() -> anyhow::Result<Vec<Trial>> {
    let spec = std::env::var("REACTOR_HARNESS_TEST_GO").unwrap_or_else(|_| "all".into());
    let releases = toolchains::select(&[spec])?;
    let toolchains = releases
        .iter()
        .map(|r| toolchains::toolchain(r))
        .collect::<Result<Vec<_>, _>>()?;
    let found = guests::discover(&paths::default_guests_dir())?;
    let mut built = Vec::new();
    for t in &toolchains {
        built.extend(guests::build_all(&found, t)?);
    }
    let known = Arc::new(KnownDivergences::load(&paths::expectations_dir())?);
    let engines = engine::registry();
    let runs = Arc::new(Runs::default());
    let mut trials = Vec::new();
    for guest in built.into_iter().map(Arc::new) {
        for scenario in &guest.guest.scenarios {
            let is_known = |e: &Arc<dyn Engine>| {
                known
                    .find(e.name(), &guest.guest.name, &scenario.name)
                    .is_some()
            };
            let reference = engines
                .iter()
                .find(|e| !is_known(e))
                .unwrap_or(&engines[0])
                .clone();
            for engine in &engines {
                let name = format!(
                    "{}::{}::{}::{}",
                    guest.guest.name,
                    scenario.name,
                    guest.go,
                    engine.name()
                );
                let (engine, reference) = (engine.clone(), reference.clone());
                let (guest, known, runs) = (guest.clone(), known.clone(), runs.clone());
                let scenario = scenario.name.clone();
                trials.push(Trial::test(name, move || {
                    trial(&engine, &reference, &guest, &scenario, &known, &runs)
                }));
            }
        }
    }
    trials.extend(compile_check_trials(&toolchains)?);
    Ok(trials)
}

/// One trial per compile check and release, and one per release that snapshots every case's
/// diagnostics, so that a change in what Go says is reviewed like any other behaviour change.
fn compile_check_trials(toolchains: &[guests::Toolchain]) -> anyhow::Result<Vec<Trial>> {
    let cases = Arc::new(compile_checks::discover(&paths::default_guests_dir())?);
    let mut trials = Vec::new();
    for t in toolchains {
        let results: Arc<OnceLock<Vec<compile_checks::CheckResult>>> = Arc::new(OnceLock::new());
        let all = {
            let (cases, t) = (cases.clone(), t.clone());
            move || -> Vec<compile_checks::CheckResult> {
                compile_checks::run_all(&cases, std::slice::from_ref(&t))
                    .expect("compile checks run")
            }
        };
        for case in cases.iter() {
            let (results, all, name) = (results.clone(), all.clone(), case.name.clone());
            trials.push(Trial::test(
                format!("compile-checks::{}::{}", case.name, t.version),
                move || {
                    let r = results
                        .get_or_init(all)
                        .iter()
                        .find(|r| r.case == name)
                        .cloned()
                        .expect("ran");
                    match r.problem {
                        None => Ok(()),
                        Some(p) => Err(p.into()),
                    }
                },
            ));
        }
        let version = t.version.clone();
        trials.push(Trial::test(
            format!("compile-checks::{version}::diagnostics-snapshot"),
            move || {
                let rs = results.get_or_init(all);
                let view: std::collections::BTreeMap<
                    &str,
                    (&compile_checks::Expect, bool, &Vec<String>),
                > = rs
                    .iter()
                    .map(|r| (r.case.as_str(), (&r.expected, r.built, &r.diagnostics)))
                    .collect();
                assert_snapshot(
                    &version,
                    "compile-checks",
                    "what Go says about each compile check",
                    &view,
                )
            },
        ));
    }
    Ok(trials)
}

fn trial(
    engine: &Arc<dyn Engine>,
    reference: &Arc<dyn Engine>,
    guest: &BuiltGuest,
    scenario: &str,
    known: &KnownDivergences,
    runs: &Runs,
) -> Result<(), Failed> {
    if let Err(reason) = engine.availability() {
        return Err(format!("engine {} is unavailable: {reason}", engine.name()).into());
    }
    let run = runs.get(engine, guest, scenario, known);
    for m in &run.recovered_crashes {
        eprintln!(
            "warning: {} crashed on {}/{} ({}) and passed on a fresh host: {m}",
            engine.name(),
            guest.guest.name,
            scenario,
            guest.go
        );
    }
    let mut problems: Vec<String> = run
        .failures
        .iter()
        .map(|f| format!("expectation failed at step {}: {}", f.step, f.message))
        .collect();

    let listed = known.find(engine.name(), &guest.guest.name, scenario);
    if engine.name() == reference.name() {
        if problems.is_empty() {
            snapshot(guest, scenario, &run)?;
        }
    } else {
        let reference_run = runs.get(reference, guest, scenario, known);
        match (first_divergence(&reference_run.normalized, &run.normalized), listed) {
            (None, Some(_)) => problems.push(format!(
                "listed as a known divergence in harness/expectations/{}.toml, but it now behaves like {}: remove the entry",
                engine.name(),
                reference.name()
            )),
            (Some(d), None) => {
                let step = d.place();
                problems.push(format!(
                    "diverges from {} at {step} ({} differs):\n--- {}\n{}\n+++ {}\n{}",
                    reference.name(),
                    d.what,
                    reference.name(),
                    d.reference,
                    engine.name(),
                    d.other
                ));
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let trace = serde_json::to_string_pretty(&run.trace).unwrap_or_default();
        Err(format!(
            "{}\n\nfull trace on {}:\n{trace}",
            problems.join("\n"),
            engine.name()
        )
        .into())
    }
}

/// Compares the reference trace with the reviewed snapshot, one per guest and scenario and Go
/// release. A changed behaviour fails here until it is reviewed with `cargo insta review`.
fn snapshot(guest: &BuiltGuest, scenario: &str, run: &EngineRun) -> Result<(), Failed> {
    let about = guest
        .guest
        .scenarios
        .iter()
        .find(|s| s.name == scenario)
        .map(|s| s.about.clone())
        .unwrap_or_default();
    assert_snapshot(
        &guest.go,
        &format!("{}__{}", guest.guest.name, scenario),
        &about,
        &run.normalized,
    )
}

fn assert_snapshot(
    go: &str,
    name: &str,
    about: &str,
    value: &impl serde::Serialize,
) -> Result<(), Failed> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(paths::snapshots_dir().join(go));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(about);
    let value = serde_json::to_value(value).map_err(|e| Failed::from(e.to_string()))?;
    let name = name.to_string();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        settings.bind(|| insta::assert_json_snapshot!(name, value));
    }))
    .map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        Failed::from(format!(
            "differs from the reviewed snapshot (review with `cargo insta review`): {}",
            msg.unwrap_or_default()
        ))
    })
}
