//! Spec expectations: checks a trace against what the scenario says Go's ABI must do, so that a
//! behaviour every engine gets wrong in the same way is still caught.

use crate::scenario::{OutcomeClass, Scenario};
use crate::trace::{Outcome, Trace};

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub step: usize,
    pub message: String,
}

/// Checks every expectation of `scenario` against `trace`. Returns (checks made, failures).
pub fn check(scenario: &Scenario, trace: &Trace) -> (usize, Vec<Failure>) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (i, step) in scenario.steps.iter().enumerate() {
        let e = &step.expect;
        checked += e.count();
        let mut fail = |message: String| failures.push(Failure { step: i, message });
        let Some(got) = trace.steps.get(i) else {
            if e.count() > 0 {
                let why = trace
                    .setup_error
                    .as_deref()
                    .unwrap_or("the trace ended early");
                fail(format!("`{}` never ran: {why}", step.action.render()));
            }
            continue;
        };
        let outcome = &got.outcome;
        if let Some(want) = &e.result {
            match outcome {
                Outcome::Returned { values } if values.as_slice() == [*want] => {}
                other => fail(format!("result: expected {want}, got {}", describe(other))),
            }
        }
        if let Some(class) = e.outcome {
            let ok = matches!(
                (class, outcome),
                (OutcomeClass::Returned, Outcome::Returned { .. })
                    | (OutcomeClass::Trap, Outcome::Trap { .. })
                    | (OutcomeClass::Exit, Outcome::Exit { .. })
            );
            if !ok {
                fail(format!(
                    "outcome: expected {class:?}, got {}",
                    describe(outcome)
                ));
            }
        }
        if let Some(kind) = e.trap {
            if !matches!(outcome, Outcome::Trap { kind: k, .. } if *k == kind) {
                fail(format!(
                    "trap: expected {}, got {}",
                    kind.name(),
                    describe(outcome)
                ));
            }
        }
        if let Some(code) = e.exit {
            if *outcome != (Outcome::Exit { code }) {
                fail(format!(
                    "exit: expected exit code {code}, got {}",
                    describe(outcome)
                ));
            }
        }
        for (name, want, have) in [
            ("stdout", &e.stdout, &got.stdout),
            ("stderr", &e.stderr, &got.stderr),
        ] {
            if let Some(want) = want {
                if want != have {
                    fail(format!("{name}: expected exactly {want:?}, got {have:?}"));
                }
            }
        }
        for (name, wants, have) in [
            ("stdout", &e.stdout_contains, &got.stdout),
            ("stderr", &e.stderr_contains, &got.stderr),
        ] {
            for want in wants {
                if !have.contains(want.as_str()) {
                    fail(format!(
                        "{name}: expected to contain {want:?}, got {have:?}"
                    ));
                }
            }
        }
        for lack in &e.stderr_lacks {
            if got.stderr.contains(lack.as_str()) {
                fail(format!(
                    "stderr: expected not to contain {lack:?}, got {:?}",
                    got.stderr
                ));
            }
        }
        let calls: Vec<&str> = got.host_calls.iter().map(|c| c.0.as_str()).collect();
        if let Some(want) = &e.host_calls {
            if calls != want.iter().map(String::as_str).collect::<Vec<_>>() {
                fail(format!("host_calls: expected {want:?}, got {calls:?}"));
            }
        }
        if !e.host_calls_contain.is_empty() {
            let mut rest = calls.iter();
            for want in &e.host_calls_contain {
                if !rest.any(|c| c == want) {
                    fail(format!(
                        "host_calls: expected {want:?} (in order among {:?}), got {calls:?}",
                        e.host_calls_contain
                    ));
                    break;
                }
            }
        }
        if let Some(want) = &e.bytes {
            let want_hex = hex::encode(want);
            if !matches!(outcome, Outcome::Memory { bytes } if *bytes == want_hex) {
                fail(format!(
                    "bytes: expected hex:{want_hex}, got {}",
                    describe(outcome)
                ));
            }
        }
    }
    (checked, failures)
}

/// A short account of an outcome for failure messages.
pub fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Returned { values } if values.is_empty() => "a return with no value".into(),
        Outcome::Returned { values } => {
            format!(
                "return {}",
                values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        Outcome::Trap { kind, message } if message.is_empty() => format!("trap {}", kind.name()),
        Outcome::Trap { kind, message } => format!("trap {} ({message})", kind.name()),
        Outcome::Exit { code } => format!("exit {code}"),
        Outcome::Memory { bytes } => format!("memory hex:{bytes}"),
        Outcome::Wrote => "a memory write".into(),
        Outcome::Refused { message } => format!("refusal ({message})"),
        Outcome::NotRun => "not run (instance discarded after a trap or exit)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{HostCall, StepTrace, TrapKind, Value};

    fn scenario() -> Scenario {
        crate::scenario::parse(
            r#"
            [[scenario]]
            name = "s"
            [[scenario.step]]
            call = "_initialize"
            stdout = "hi\n"
            host_calls_contain = ['log("a")', 'log("c")']
            [[scenario.step]]
            call = "F"
            trap = "unreachable"
            stderr_contains = ["panic: boom"]
            [[scenario.step]]
            call = "G"
            result = "i32:1"
            "#,
        )
        .unwrap()
        .remove(0)
    }

    fn step(outcome: Outcome, calls: &[&str], stdout: &str, stderr: &str) -> StepTrace {
        StepTrace {
            step: String::new(),
            outcome,
            host_calls: calls.iter().map(|c| HostCall(c.to_string())).collect(),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn a_matching_trace_passes_and_a_wrong_one_fails_per_check() {
        let ok = Trace {
            memory: Default::default(),
            setup_error: None,
            steps: vec![
                step(
                    Outcome::Returned { values: vec![] },
                    &["log(\"a\")", "log(\"b\")", "log(\"c\")"],
                    "hi\n",
                    "",
                ),
                step(
                    Outcome::Trap {
                        kind: TrapKind::Unreachable,
                        message: String::new(),
                    },
                    &[],
                    "",
                    "panic: boom\n",
                ),
                step(
                    Outcome::Returned {
                        values: vec![Value::I32(1)],
                    },
                    &[],
                    "",
                    "",
                ),
            ],
        };
        assert_eq!(
            check(&scenario(), &ok),
            (7, vec![]),
            "six written checks and the implied return of _initialize"
        );

        let bad = Trace {
            memory: Default::default(),
            setup_error: None,
            steps: vec![
                step(
                    Outcome::Returned { values: vec![] },
                    &["log(\"c\")", "log(\"a\")"],
                    "hi",
                    "",
                ),
                step(Outcome::Exit { code: 2 }, &[], "", ""),
                step(Outcome::NotRun, &[], "", ""),
            ],
        };
        let (_, failures) = check(&scenario(), &bad);
        let steps: Vec<usize> = failures.iter().map(|f| f.step).collect();
        assert_eq!(steps, [0, 0, 1, 1, 2], "{failures:#?}");
    }

    #[test]
    fn a_setup_failure_fails_every_expectation_with_its_reason() {
        let t = Trace {
            memory: Default::default(),
            setup_error: Some("instantiate: missing import".into()),
            steps: vec![],
        };
        let (_, failures) = check(&scenario(), &t);
        assert_eq!(failures.len(), 3);
        assert!(failures[0].message.contains("missing import"));
    }
}
