//! Runs one scenario on one engine: a fresh instance, the steps in order, one StepTrace each.

use crate::engine::{Engine, Instance, LoadedModule};
use crate::pinned::Budget;
use crate::scenario::{Action, AddrRef, Scenario};
use crate::trace::{Memory, Outcome, StepTrace, Trace, TrapKind, Value, ENGINE_CRASH};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// Runs `scenario` on a fresh instance of `module`. Never panics on guest behaviour: every failure
/// of the guest or the engine is recorded in the trace.
pub fn run_scenario(module: &dyn LoadedModule, scenario: &Scenario, budget: Budget) -> Trace {
    run_scenario_with(module, scenario, budget, &mut |_| {})
}

/// As [`run_scenario`], telling `on_step` about each step as soon as it has run.
pub fn run_scenario_with(
    module: &dyn LoadedModule,
    scenario: &Scenario,
    budget: Budget,
    on_step: &mut dyn FnMut(&StepTrace),
) -> Trace {
    let mut instance = match module.instantiate(budget) {
        Ok(i) => i,
        Err(e) => {
            return Trace {
                memory: Default::default(),
                setup_error: Some(format!("instantiate: {e:#}")),
                steps: vec![],
            }
        }
    };
    let mut steps: Vec<StepTrace> = Vec::with_capacity(scenario.steps.len());
    let mut discarded = false;
    for step in &scenario.steps {
        let rendered = step.action.render();
        if discarded && !step.after_trap {
            steps.push(StepTrace {
                step: rendered,
                outcome: Outcome::NotRun,
                host_calls: vec![],
                stdout: String::new(),
                stderr: String::new(),
            });
            on_step(steps.last().expect("just pushed"));
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
        on_step(steps.last().expect("just pushed"));
    }
    let memory = instance
        .memory_digest()
        .unwrap_or_else(|reason| Memory::Unavailable { reason });
    Trace {
        memory,
        setup_error: None,
        steps,
    }
}

/// How long loading (compiling) a module may take before the engine is abandoned.
pub const LOAD_LIMIT: Duration = Duration::from_secs(300);

enum Progress {
    Loaded(Result<(), String>),
    Step(StepTrace),
    /// The memory after the last step.
    Memory(Memory),
    /// The engine adapter panicked; the message says where.
    Panicked(String),
}

/// Loads the module and runs the scenario on a thread of its own, under a watchdog. A step that
/// does not finish within `budget.watchdog` is recorded as a `timeout` trap (the thread is left
/// to finish or not; the instance is never used again), so one stuck engine never hangs a run.
pub fn run_guarded(
    engine: Arc<dyn Engine>,
    wasm: Arc<Vec<u8>>,
    scenario: Arc<Scenario>,
    budget: Budget,
) -> Trace {
    let (tx, rx) = mpsc::channel();
    let worker_scenario = scenario.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("{}-{}", engine.name(), scenario.name))
        .spawn(move || {
            let panic_tx = tx.clone();
            let body = std::panic::AssertUnwindSafe(move || {
                let module = match engine.load(&wasm) {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = tx.send(Progress::Loaded(Err(format!("load: {e:#}"))));
                        return;
                    }
                };
                let _ = tx.send(Progress::Loaded(Ok(())));
                let trace =
                    run_scenario_with(module.as_ref(), &worker_scenario, budget, &mut |step| {
                        let _ = tx.send(Progress::Step(step.clone()));
                    });
                match trace.setup_error {
                    Some(e) => {
                        let _ = tx.send(Progress::Loaded(Err(e)));
                    }
                    None => {
                        let _ = tx.send(Progress::Memory(trace.memory));
                    }
                }
            });
            if let Err(p) = std::panic::catch_unwind(body) {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                let _ = panic_tx.send(Progress::Panicked(
                    msg.unwrap_or_else(|| "no message".into()),
                ));
            }
        });
    if let Err(e) = spawned {
        return Trace {
            memory: Default::default(),
            setup_error: Some(format!("cannot start a thread for the engine: {e}")),
            steps: vec![],
        };
    }
    match rx.recv_timeout(LOAD_LIMIT) {
        Ok(Progress::Loaded(Ok(()))) => {}
        Ok(Progress::Loaded(Err(e))) => {
            return Trace {
                memory: Default::default(),
                setup_error: Some(e),
                steps: vec![],
            }
        }
        Ok(Progress::Step(_) | Progress::Memory(_)) => unreachable!("steps come after loading"),
        Ok(Progress::Panicked(m)) => {
            return Trace {
                memory: Default::default(),
                setup_error: Some(format!("load: {ENGINE_CRASH}: the engine panicked: {m}")),
                steps: vec![],
            }
        }
        Err(_) => {
            let why =
                format!("load: {ENGINE_CRASH}: no answer within {LOAD_LIMIT:?} (the engine panicked or hangs)");
            return Trace {
                memory: Default::default(),
                setup_error: Some(why),
                steps: vec![],
            };
        }
    }
    let mut steps: Vec<StepTrace> = Vec::new();
    while steps.len() < scenario.steps.len() {
        match rx.recv_timeout(budget.watchdog) {
            Ok(Progress::Step(s)) => steps.push(s),
            Ok(Progress::Memory(_)) => unreachable!("the memory comes after the last step"),
            Ok(Progress::Loaded(Err(e))) => {
                return Trace {
                    memory: Default::default(),
                    setup_error: Some(e),
                    steps,
                }
            }
            Ok(Progress::Loaded(Ok(()))) => {}
            other => {
                let (kind, message) = match other {
                    Err(mpsc::RecvTimeoutError::Timeout) => (
                        TrapKind::Timeout,
                        format!(
                            "watchdog: the step did not finish within {:?}",
                            budget.watchdog
                        ),
                    ),
                    Ok(Progress::Panicked(m)) => (
                        TrapKind::EngineCrash,
                        format!("the engine adapter panicked: {m}"),
                    ),
                    _ => (
                        TrapKind::EngineCrash,
                        "the engine adapter stopped without a word".to_string(),
                    ),
                };
                let rest = scenario.steps[steps.len()..]
                    .iter()
                    .map(|s| s.action.render());
                for (i, rendered) in rest.enumerate() {
                    let outcome = if i == 0 {
                        Outcome::Trap {
                            kind,
                            message: message.clone(),
                        }
                    } else {
                        Outcome::NotRun
                    };
                    steps.push(StepTrace {
                        step: rendered,
                        outcome,
                        host_calls: vec![],
                        stdout: String::new(),
                        stderr: String::new(),
                    });
                }
                return Trace {
                    memory: Memory::Unavailable {
                        reason: "the harness stopped waiting for the engine".into(),
                    },
                    setup_error: None,
                    steps,
                };
            }
        }
    }
    let memory = match rx.recv_timeout(budget.watchdog) {
        Ok(Progress::Memory(m)) => m,
        Ok(Progress::Panicked(m)) => Memory::Unavailable {
            reason: format!("the engine adapter panicked: {m}"),
        },
        _ => Memory::Unavailable {
            reason: format!("no memory digest within {:?}", budget.watchdog),
        },
    };
    Trace {
        memory,
        setup_error: None,
        steps,
    }
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
    base.checked_add(offset)
        .ok_or_else(|| format!("address {base}+{offset} overflows"))
}

fn run_action(instance: &mut dyn Instance, action: &Action, earlier: &[StepTrace]) -> Outcome {
    let refused = |message: String| Outcome::Refused { message };
    match action {
        Action::Call { export, args } => instance.call(export, args),
        Action::ReadMemory { at, offset, len } => match resolve(at, *offset, earlier) {
            Ok(addr) => match instance.read_memory(addr, *len) {
                Ok(bytes) => Outcome::Memory {
                    bytes: hex::encode(bytes),
                },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testing::Scripted;

    /// An engine whose `Stuck` export never returns in time, like a guest asleep in a host call.
    fn hanging() -> Arc<dyn Engine> {
        Arc::new(Scripted(|export| match export {
            "Stuck" => {
                std::thread::sleep(Duration::from_secs(3));
                Outcome::Returned { values: vec![] }
            }
            "Trap" => Outcome::Trap {
                kind: TrapKind::Unreachable,
                message: String::new(),
            },
            _ => Outcome::Returned { values: vec![] },
        }))
    }

    #[test]
    fn steps_after_a_trap_are_streamed_as_not_run() {
        let scenario = crate::scenario::parse(
            "[[scenario]]\nname = \"s\"\n[[scenario.step]]\ncall = \"Trap\"\noutcome = \"trap\"\n[[scenario.step]]\ncall = \"Later\"\n",
        )
        .unwrap()
        .remove(0);
        let trace = run_guarded(
            hanging(),
            Arc::new(vec![]),
            Arc::new(scenario),
            Budget::default(),
        );
        let outcomes: Vec<&Outcome> = trace.steps.iter().map(|s| &s.outcome).collect();
        assert!(matches!(
            outcomes[0],
            Outcome::Trap {
                kind: TrapKind::Unreachable,
                ..
            }
        ));
        assert_eq!(outcomes[1], &Outcome::NotRun);
    }

    #[test]
    fn the_watchdog_ends_a_stuck_step_as_a_timeout_and_skips_the_rest() {
        let scenario = crate::scenario::parse(
            "[[scenario]]\nname = \"s\"\n[[scenario.step]]\ncall = \"Fine\"\n[[scenario.step]]\ncall = \"Stuck\"\n[[scenario.step]]\ncall = \"Never\"\n",
        )
        .unwrap()
        .remove(0);
        let budget = Budget {
            watchdog: Duration::from_millis(200),
            ..Budget::default()
        };
        let start = std::time::Instant::now();
        let trace = run_guarded(hanging(), Arc::new(vec![]), Arc::new(scenario), budget);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the watchdog did not cut the step short"
        );
        let outcomes: Vec<&Outcome> = trace.steps.iter().map(|s| &s.outcome).collect();
        assert_eq!(outcomes[0], &Outcome::Returned { values: vec![] });
        assert!(
            matches!(outcomes[1], Outcome::Trap { kind: TrapKind::Timeout, message } if message.contains("watchdog"))
        );
        assert_eq!(outcomes[2], &Outcome::NotRun);
    }
}
