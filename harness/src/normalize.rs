//! Every normalisation rule in one place, each with its reason. A trace is normalised before it
//! is compared with another engine's or written to a snapshot; the raw trace stays for people.

use crate::scenario::Scenario;
use crate::trace::{Memory, Outcome, Trace, TrapKind};

/// What replaces the output of a step whose output the ABI leaves undefined.
pub const UNDEFINED_OUTPUT: &str =
    "<not compared: the scenario marks this step's output undefined>";

/// Returns the comparable form of a trace of `scenario`.
pub fn normalize(trace: &Trace, scenario: &Scenario) -> Trace {
    let mut t = trace.clone();
    if let Some(e) = &mut t.setup_error {
        // Rule 1: engines word their errors differently; that setup failed is what is compared.
        *e = "setup failed".to_string();
    }
    for step in &mut t.steps {
        match &mut step.outcome {
            // Rule 1 again: trap texts differ per engine ("wasm `unreachable` instruction executed"
            // vs "unreachable"); the adapter already mapped them to a TrapKind, which is compared.
            Outcome::Trap { message, .. } | Outcome::Refused { message } => message.clear(),
            _ => {}
        }
        step.stdout = mask_addresses(&step.stdout);
        step.stderr = mask_addresses(&step.stderr);
    }
    // Rule 3: where the ABI leaves behaviour undefined (a second call before `_initialize`,
    // item 3; the first scheduling point after a trap, item 23), what happens depends on the
    // engine's stack layout and on timing: which fatal error the corrupted scheduler hits first,
    // whether a wild access lands out of bounds or overflows the stack. A scenario marks such a
    // step `undefined = "reason"`: whether it returned, trapped or exited (and the exit code, the
    // values and the host calls) is still compared; the trap's kind and the output are not.
    for (step, spec) in t.steps.iter_mut().zip(&scenario.steps) {
        if spec.undefined.is_some() {
            if let Outcome::Trap { kind, .. } = &mut step.outcome {
                *kind = crate::trace::TrapKind::Other;
            }
            for out in [&mut step.stdout, &mut step.stderr] {
                if !out.is_empty() {
                    *out = UNDEFINED_OUTPUT.to_string();
                }
            }
        }
    }
    // Rule 5: the memory oracle compares the guest's memory after the last step, except where
    // the guest was stopped at an engine-specific point (a budget or the stack limit cut a step
    // short: how far it got depends on the engine's speed and frame sizes) or where the scenario
    // itself says a step is undefined (rule 3). An engine crash is already the finding.
    let stopped_by_limit = t.steps.iter().any(|s| {
        matches!(&s.outcome, Outcome::Trap { kind, .. } if kind.is_nondeterministic() || *kind == TrapKind::EngineCrash)
    });
    let undefined = scenario.steps.iter().any(|s| s.undefined.is_some());
    if !t.memory.is_not_taken() {
        if stopped_by_limit {
            t.memory = Memory::NotCompared {
                reason: "a step was cut short by an engine limit (budget, stack or crash), at an engine-specific point".into(),
            };
        } else if undefined {
            t.memory = Memory::NotCompared {
                reason: "the scenario marks a step's behaviour undefined".into(),
            };
        }
    }
    t
}

/// Rule 2: long hexadecimal numbers in Go's output are heap or stack addresses (goroutine dumps,
/// `%p`, fatal-error register lines). The pinned argv and env make them equal today, but any
/// runtime that shifts Go's heap (wasmer adds argv[0] by default) changes them without changing
/// behaviour, so they are never compared. Short ones (`+0x1b`, PC offsets within a function)
/// depend only on the binary and stay.
pub fn mask_addresses(text: &str) -> String {
    const MIN_DIGITS: usize = 5;
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'0' && bytes.get(i + 1) == Some(&b'x') {
            let digits = bytes[i + 2..]
                .iter()
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            if digits >= MIN_DIGITS {
                out.push_str("0xADDR");
                i += 2 + digits;
                continue;
            }
        }
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Rule 4, for comparing one engine's traces across Go releases only: tracebacks name runtime
/// and guest source lines and PC offsets, which move with every release without any change in
/// behaviour; positions become `.go:N +0x?`.
pub fn mask_source_positions(trace: &Trace) -> Trace {
    let mut t = trace.clone();
    for step in &mut t.steps {
        step.stderr = mask_positions(&step.stderr);
    }
    t
}

fn mask_positions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match line.find(".go:") {
            Some(at) => {
                out.push_str(&line[..at]);
                out.push_str(".go:N");
                let rest = &line[at + 4..];
                let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
                let rest = &rest[digits..];
                if rest.starts_with(" +0x") {
                    out.push_str(" +0x?");
                } else {
                    out.push_str(rest);
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{StepTrace, TrapKind};

    #[test]
    fn addresses_are_masked_but_pc_offsets_kept() {
        assert_eq!(
            mask_addresses("main.f(0x1a2b3c4)\n\tmain.go:12 +0x1b\n"),
            "main.f(0xADDR)\n\tmain.go:12 +0x1b\n"
        );
        assert_eq!(mask_addresses("é 0x12345678 ü"), "é 0xADDR ü");
    }

    #[test]
    fn output_of_undefined_steps_is_not_compared_but_outcomes_are() {
        let s = crate::scenario::parse(
            "[[scenario]]\nname = \"s\"\n[[scenario.step]]\ncall = \"F\"\nexit = 4\nundefined = \"after a trap\"\n",
        )
        .unwrap();
        let t = Trace {
            memory: Default::default(),
            setup_error: None,
            steps: vec![StepTrace {
                step: "call F()".into(),
                outcome: Outcome::Exit { code: 4 },
                host_calls: vec![],
                stdout: String::new(),
                stderr: "fatal error: checkdead".into(),
            }],
        };
        let n = normalize(&t, &s[0]);
        assert_eq!(n.steps[0].stderr, UNDEFINED_OUTPUT);
        assert_eq!(n.steps[0].stdout, "");
        assert_eq!(n.steps[0].outcome, Outcome::Exit { code: 4 });
    }

    #[test]
    fn source_positions_are_masked_for_cross_release_comparison() {
        assert_eq!(
            mask_positions("main.f()\n\tmain.go:12 +0x1b\n\truntime/proc.go:462\nplain"),
            "main.f()\n\tmain.go:N +0x?\n\truntime/proc.go:N\nplain"
        );
    }

    #[test]
    fn trap_texts_are_cleared_and_kinds_kept() {
        let t = Trace {
            memory: Default::default(),
            setup_error: None,
            steps: vec![StepTrace {
                step: "call F()".into(),
                outcome: Outcome::Trap {
                    kind: TrapKind::Unreachable,
                    message: "wasm `unreachable`".into(),
                },
                host_calls: vec![],
                stdout: String::new(),
                stderr: String::new(),
            }],
        };
        let s = crate::scenario::parse(
            "[[scenario]]\nname = \"s\"\n[[scenario.step]]\ncall = \"F\"\ntrap = \"unreachable\"\n",
        )
        .unwrap();
        assert_eq!(
            normalize(&t, &s[0]).steps[0].outcome,
            Outcome::Trap {
                kind: TrapKind::Unreachable,
                message: String::new()
            }
        );
    }
}
