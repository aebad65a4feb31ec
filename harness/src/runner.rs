//! Runs one scenario on one engine: a fresh instance, the steps in order, one StepTrace each.

use crate::engine::{Instance, LoadedModule};
use crate::pinned::Budget;
use crate::scenario::{Action, AddrRef, Scenario};
use crate::trace::{Outcome, StepTrace, Trace, Value};

/// Runs `scenario` on a fresh instance of `module`. Never panics on guest behaviour: every failure
/// of the guest or the engine is recorded in the trace.
pub fn run_scenario(module: &dyn LoadedModule, scenario: &Scenario, budget: Budget) -> Trace {
    let mut instance = match module.instantiate(budget) {
        Ok(i) => i,
        Err(e) => return Trace { setup_error: Some(format!("instantiate: {e:#}")), steps: vec![] },
    };
    let mut steps: Vec<StepTrace> = Vec::with_capacity(scenario.steps.len());
    let mut discarded = false;
    for step in &scenario.steps {
        let rendered = step.action.render();
        if discarded && !step.after_trap {
            steps.push(StepTrace { step: rendered, outcome: Outcome::NotRun, host_calls: vec![], stdout: String::new(), stderr: String::new() });
            continue;
        }
        let outcome = run_action(instance.as_mut(), &step.action, &steps);
        let host_calls = instance.take_host_calls();
        let (stdout, stderr) = instance.take_output();
        discarded |= outcome.ends_instance();
        steps.push(StepTrace {
            step: rendered,
            outcome,
            host_calls,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        });
    }
    Trace { setup_error: None, steps }
}

fn resolve(at: &AddrRef, offset: u32, earlier: &[StepTrace]) -> Result<u32, String> {
    let base = match at {
        AddrRef::Literal(n) => *n,
        AddrRef::ResultOf(k) => match earlier.get(*k).map(|s| &s.outcome) {
            Some(Outcome::Returned { values }) => match values.as_slice() {
                [Value::I32(p)] => *p as u32,
                other => return Err(format!("step {k} returned {other:?}, not one i32 address")),
            },
            _ => return Err(format!("step {k} did not return an address")),
        },
    };
    base.checked_add(offset).ok_or_else(|| format!("address {base}+{offset} overflows"))
}

fn run_action(instance: &mut dyn Instance, action: &Action, earlier: &[StepTrace]) -> Outcome {
    let refused = |message: String| Outcome::Refused { message };
    match action {
        Action::Call { export, args } => instance.call(export, args),
        Action::ReadMemory { at, offset, len } => match resolve(at, *offset, earlier) {
            Ok(addr) => match instance.read_memory(addr, *len) {
                Ok(bytes) => Outcome::Memory { bytes: hex::encode(bytes) },
                Err(e) => refused(e),
            },
            Err(e) => refused(e),
        },
        Action::WriteMemory { at, offset, bytes } => match resolve(at, *offset, earlier) {
            Ok(addr) => match instance.write_memory(addr, bytes) {
                Ok(()) => Outcome::Wrote,
                Err(e) => refused(e),
            },
            Err(e) => refused(e),
        },
    }
}
