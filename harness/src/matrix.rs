//! The differential matrix: every selected guest x scenario on every selected engine, each case
//! judged by the engines' agreement and by the scenario's own expectations.

use crate::diff::{self, Judgement, KnownDivergences};
use crate::engine::Engine;
use crate::expect::{self, Failure};
use crate::guests::BuiltGuest;
use crate::normalize::normalize;
use crate::pinned::Budget;
use crate::runner::run_guarded;
use crate::scenario::Scenario;
use crate::trace::Trace;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One engine's run of one case.
#[derive(Debug, Clone)]
pub struct EngineRun {
    pub engine: String,
    pub trace: Trace,
    pub normalized: Trace,
    /// Spec expectation failures; empty when the engine is exempt by a known divergence.
    pub failures: Vec<Failure>,
    pub checked: usize,
    pub exempt: bool,
    pub elapsed: Duration,
    /// Engine crashes that went away when the case was run again (see [`CRASH_RETRIES`]).
    pub recovered_crashes: Vec<String>,
}

/// One guest x scenario across engines.
#[derive(Debug, Clone)]
pub struct CaseReport {
    pub guest: String,
    pub scenario: String,
    pub go: String,
    pub runs: Vec<EngineRun>,
    pub judgement: Judgement,
}

impl CaseReport {
    pub fn expectations_checked(&self) -> usize {
        self.runs.iter().map(|r| r.checked).sum()
    }
    pub fn expectations_failed(&self) -> usize {
        self.runs.iter().map(|r| r.failures.len()).sum()
    }
    /// Anything a person must look at: an unexplained divergence, a poisoned case, a failed
    /// expectation, or a known divergence that stopped happening.
    pub fn has_findings(&self) -> bool {
        self.judgement.verdict != diff::Verdict::Agree
            && self.judgement.verdict != diff::Verdict::KnownDivergence
            || self.expectations_failed() > 0
            || !self.judgement.stale_known.is_empty()
    }
}

/// How many times a case whose engine crashed is run again before the crash counts.
pub const CRASH_RETRIES: usize = 2;

/// Runs one scenario on one engine and checks its expectations.
pub fn run_on_engine(
    engine: &Arc<dyn Engine>,
    guest: &BuiltGuest,
    scenario: &Scenario,
    known: &KnownDivergences,
    budget: Budget,
) -> EngineRun {
    let start = Instant::now();
    let mut recovered_crashes = Vec::new();
    let mut trace = run_guarded(
        engine.clone(),
        guest.wasm.clone(),
        Arc::new(scenario.clone()),
        budget,
    );
    // A host process that dies (during a step or while instantiating) is a finding about the
    // engine, but one that dies only sometimes (Node has segfaulted in about 1% of cases here)
    // would make every gate flaky. Such a case is
    // run again on a fresh host, up to twice; the crash is still reported, as recovered.
    for _ in 0..CRASH_RETRIES {
        let Some(message) = trace.engine_crash() else {
            break;
        };
        recovered_crashes.push(message);
        trace = run_guarded(
            engine.clone(),
            guest.wasm.clone(),
            Arc::new(scenario.clone()),
            budget,
        );
    }
    if trace.engine_crash().is_some() {
        // Crashed every time: that is the engine's behaviour, not a fluke.
        recovered_crashes.clear();
    }
    let elapsed = start.elapsed();
    let normalized = normalize(&trace, scenario);
    let exempt = known
        .find(engine.name(), &guest.guest.name, &scenario.name)
        .is_some_and(|k| !k.expectations_apply);
    let (checked, failures) = if exempt {
        (0, vec![])
    } else {
        expect::check(scenario, &trace)
    };
    EngineRun {
        engine: engine.name().to_string(),
        trace,
        normalized,
        failures,
        checked,
        exempt,
        elapsed,
        recovered_crashes,
    }
}

/// Runs one case on every engine and judges it.
pub fn run_case(
    engines: &[Arc<dyn Engine>],
    guest: &BuiltGuest,
    scenario: &Scenario,
    known: &KnownDivergences,
    budget: Budget,
) -> CaseReport {
    let runs: Vec<EngineRun> = engines
        .iter()
        .map(|e| run_on_engine(e, guest, scenario, known, budget))
        .collect();
    let traces: Vec<(String, Trace)> = runs
        .iter()
        .map(|r| (r.engine.clone(), r.normalized.clone()))
        .collect();
    let judgement = diff::judge(&traces, known, &guest.guest.name, &scenario.name);
    CaseReport {
        guest: guest.guest.name.clone(),
        scenario: scenario.name.clone(),
        go: guest.go.clone(),
        runs,
        judgement,
    }
}
