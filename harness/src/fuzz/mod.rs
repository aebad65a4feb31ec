//! Fuzzing: the logic of every fuzz target, as library functions over `arbitrary::Unstructured`,
//! so that `cargo fuzz` targets are a few lines of glue and `cargo test` runs the same functions
//! for a bounded number of seeded iterations.
//!
//! A fuzz input becomes a [`Case`]: a module and a [`Plan`] (the calls and memory accesses to
//! make, in order). The [`Oracle`] runs the case on every selected engine exactly as the matrix
//! runs a scenario (fresh instance, pinned environment, budgets, watchdog), normalises the traces
//! and diffs them. A divergence or an engine crash is a finding, written to disk atomically
//! ([`findings`]); outcomes that depend on engine limits (timeouts, stack exhaustion) poison the
//! case instead.

pub mod calls;
pub mod findings;
pub mod marshal;
pub mod module;
pub mod shrink;
pub mod smith;

use crate::diff::{self, KnownDivergences, Verdict};
use crate::engine::{self, Engine, Transient};
use crate::pinned::Budget;
use crate::runner::run_guarded;
use crate::scenario::{Action, AddrRef, Expect, Scenario, Step};
use crate::trace::{Outcome, Trace, TrapKind, Value};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// One step of a fuzz plan. Serialised into findings as TOML, and read back by `replay`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStep {
    /// Call an export with these arguments (canonical value text, e.g. `i32:-1`), optionally
    /// expecting a result and host calls (a target that models the guest says what must happen).
    Call {
        export: String,
        args: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect_result: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect_host_calls: Option<Vec<String>>,
    },
    /// Write bytes (hex) at an address.
    WriteMemory { addr: u32, bytes: String },
    /// Read bytes at an address (the bytes are part of the trace), optionally expecting them.
    ReadMemory {
        addr: u32,
        len: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect_bytes: Option<String>,
    },
}

/// What to do with a module: the steps, in order. A step after a trap or exit is not run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Keep calling after a trap. Right for plain wasm modules, whose instance stays usable;
    /// wrong for Go reactors, whose runtime state a trap leaves undefined (ABI item 23).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_trap: bool,
    #[serde(default, rename = "step")]
    pub steps: Vec<PlanStep>,
}

impl Plan {
    pub fn call(&mut self, export: &str, args: &[Value]) {
        self.steps.push(PlanStep::Call {
            export: export.to_string(),
            args: args.iter().map(Value::to_string).collect(),
            expect_result: None,
            expect_host_calls: None,
        });
    }

    /// The plan as a scenario the runner understands (differential only: no expectations).
    pub fn scenario(&self, name: &str) -> anyhow::Result<Scenario> {
        let steps = self
            .steps
            .iter()
            .map(|s| {
                let mut expect = Expect::default();
                let action = match s {
                    PlanStep::Call {
                        export,
                        args,
                        expect_result,
                        expect_host_calls,
                    } => {
                        if let Some(r) = expect_result {
                            expect.result = Some(Value::parse(r).map_err(anyhow::Error::msg)?);
                        }
                        expect.host_calls = expect_host_calls.clone();
                        Action::Call {
                            export: export.clone(),
                            args: args
                                .iter()
                                .map(|a| Value::parse(a).map_err(anyhow::Error::msg))
                                .collect::<anyhow::Result<_>>()?,
                        }
                    }
                    PlanStep::WriteMemory { addr, bytes } => Action::WriteMemory {
                        at: AddrRef::Literal(*addr),
                        offset: 0,
                        bytes: hex::decode(bytes)?,
                    },
                    PlanStep::ReadMemory {
                        addr,
                        len,
                        expect_bytes,
                    } => {
                        if let Some(b) = expect_bytes {
                            expect.bytes = Some(hex::decode(b)?);
                        }
                        Action::ReadMemory {
                            at: AddrRef::Literal(*addr),
                            offset: 0,
                            len: *len,
                        }
                    }
                };
                Ok(Step {
                    action,
                    after_trap: self.after_trap,
                    undefined: None,
                    expect,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Scenario {
            name: name.to_string(),
            about: String::new(),
            abi: vec![],
            steps,
        })
    }
}

/// A module and what to do with it.
#[derive(Debug, Clone)]
pub struct Case {
    /// The fuzz target (or `module`, `replay`) that made the case; names the findings folder.
    pub target: String,
    pub wasm: Arc<Vec<u8>>,
    /// Where the module came from, for people (a guest and Go release, or "wasm-smith").
    pub origin: String,
    pub plan: Plan,
    /// Load the module for this case only (generated modules); a guest is loaded once per run.
    pub transient: bool,
}

/// What the oracle made of a case.
#[derive(Debug, Clone)]
pub struct Checked {
    pub verdict: CaseVerdict,
    /// Each engine's raw trace.
    pub traces: Vec<(String, Trace)>,
    pub judgement: diff::Judgement,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseVerdict {
    Agree,
    /// A difference that depends on engine limits: the case says nothing.
    Poisoned,
    /// Engines disagree, or one crashed: a finding.
    Finding(String),
}

/// Runs cases on a set of engines and judges them.
pub struct Oracle {
    pub engines: Vec<Arc<dyn Engine>>,
    pub budget: Budget,
}

/// Fuzzing budgets: a fuzz input must finish in well under a second per engine, and a wasm-smith
/// module that loops is cut by the fuel it was built with long before this.
pub const FUZZ_BUDGET: Budget = Budget {
    wall: Duration::from_secs(2),
    fuel: 300_000_000,
    watchdog: Duration::from_secs(20),
};

impl Oracle {
    /// Every available engine, or those named in `REACTOR_HARNESS_FUZZ_ENGINES` (comma-separated).
    /// An unavailable engine is left out with its reason on stderr; naming one is an error.
    pub fn from_env() -> anyhow::Result<Oracle> {
        let all = engine::registry();
        let named: Vec<String> = std::env::var("REACTOR_HARNESS_FUZZ_ENGINES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let selected = engine::select(&all, &named)?;
        let mut engines = Vec::new();
        for e in selected {
            match e.availability() {
                Ok(()) => engines.push(e),
                Err(why) if !named.is_empty() => {
                    anyhow::bail!("engine {} is unavailable: {why}", e.name())
                }
                Err(why) => eprintln!(
                    "reactor-harness fuzz: engine {} is unavailable and left out: {why}",
                    e.name()
                ),
            }
        }
        anyhow::ensure!(
            engines.len() >= 2,
            "fuzzing needs at least two available engines to compare, found {}",
            engines.len()
        );
        Ok(Oracle {
            engines,
            budget: FUZZ_BUDGET,
        })
    }

    /// These engines, each of which must be available.
    pub fn with(engines: Vec<Arc<dyn Engine>>) -> anyhow::Result<Oracle> {
        for e in &engines {
            if let Err(why) = e.availability() {
                anyhow::bail!("engine {} is unavailable: {why}", e.name());
            }
        }
        Ok(Oracle {
            engines,
            budget: FUZZ_BUDGET,
        })
    }

    /// Runs the case on every engine and judges it.
    pub fn check(&self, case: &Case) -> anyhow::Result<Checked> {
        let scenario = Arc::new(case.plan.scenario(&case.target)?);
        let mut traces = Vec::new();
        let mut normalized = Vec::new();
        for e in &self.engines {
            let engine: Arc<dyn Engine> = if case.transient {
                Arc::new(Transient(e.clone()))
            } else {
                e.clone()
            };
            let trace = run_guarded(engine, case.wasm.clone(), scenario.clone(), self.budget);
            normalized.push((e.name().to_string(), normalize(&trace, &scenario)));
            traces.push((e.name().to_string(), trace));
        }
        let judgement = diff::judge(
            &normalized,
            &KnownDivergences::default(),
            &case.target,
            "fuzz",
        );
        let crash = traces
            .iter()
            .find_map(|(e, t)| t.engine_crash().map(|m| format!("{e} crashed: {m}")));
        // The target's own model of the guest (marshal): what every engine must do.
        let failed = traces.iter().find_map(|(e, t)| {
            let (_, failures) = crate::expect::check(&scenario, t);
            failures
                .first()
                .map(|f| format!("{e}: expectation failed at step {}: {}", f.step, f.message))
        });
        let verdict = match (crash.or(failed), judgement.verdict) {
            (Some(m), _) => CaseVerdict::Finding(m),
            (None, Verdict::Diverged) => {
                let (engine, d) = judgement
                    .divergences
                    .iter()
                    .find(|(_, d)| !d.nondeterministic)
                    .expect("a diverged verdict has a divergence");
                CaseVerdict::Finding(format!(
                    "{engine} diverges from {} at {} ({} differs)",
                    judgement.reference.as_deref().unwrap_or("?"),
                    d.place(),
                    d.what
                ))
            }
            (None, Verdict::Poisoned) => CaseVerdict::Poisoned,
            (None, _) => CaseVerdict::Agree,
        };
        Ok(Checked {
            verdict,
            traces,
            judgement,
        })
    }

    /// Checks a case and writes a finding when there is one. Returns the verdict.
    pub fn run(&self, case: &Case) -> CaseVerdict {
        match self.check(case) {
            Ok(checked) => {
                if let CaseVerdict::Finding(summary) = &checked.verdict {
                    let root = findings::dir();
                    let known = findings::signature(&checked)
                        .and_then(|sig| findings::same_as(&root, &case.target, &sig));
                    if let Some(existing) = known {
                        // The same bug again: one folder per signature, or a campaign writes
                        // thousands.
                        eprintln!(
                            "reactor-harness fuzz: finding again (same signature as {}): {summary}",
                            existing.display()
                        );
                        return checked.verdict;
                    }
                    FINDINGS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    match findings::write(&root, case, &checked) {
                        Ok(path) => eprintln!(
                            "reactor-harness fuzz: FINDING {summary}\n  written to {}\n  reproduce: cargo run --release -- replay {}",
                            path.display(),
                            path.display()
                        ),
                        Err(e) => eprintln!(
                            "reactor-harness fuzz: FINDING {summary}, but writing it failed: {e:#}"
                        ),
                    }
                }
                checked.verdict
            }
            // A plan that cannot even become a scenario is a bug in the target, not a finding.
            Err(e) => panic!("fuzz target {} built a bad plan: {e:#}", case.target),
        }
    }
}

/// A report of a checked case for people: the verdict, each engine's outcome per step, and every
/// divergence from the reference.
pub fn describe(case: &Case, checked: &Checked) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "module: {} ({} bytes)", case.origin, case.wasm.len());
    for (engine, trace) in &checked.traces {
        let _ = writeln!(out, "\n{engine}:");
        if let Some(e) = &trace.setup_error {
            let _ = writeln!(out, "  setup failed: {e}");
        }
        for s in &trace.steps {
            let _ = writeln!(
                out,
                "  {} -> {}",
                s.step,
                crate::expect::describe(&s.outcome)
            );
            for c in &s.host_calls {
                let _ = writeln!(out, "      {}", c.0);
            }
        }
        let _ = writeln!(out, "  memory: {}", trace.memory);
    }
    for (engine, d) in &checked.judgement.divergences {
        let reference = checked.judgement.reference.as_deref().unwrap_or("?");
        let _ = writeln!(
            out,
            "\n{engine} vs {reference}: {}, {} differs\n--- {reference}\n{}\n+++ {engine}\n{}",
            d.place(),
            d.what,
            d.reference,
            d.other
        );
    }
    let verdict = match &checked.verdict {
        CaseVerdict::Agree => "agree".to_string(),
        CaseVerdict::Poisoned => {
            "poisoned (a difference that depends on engine limits)".to_string()
        }
        CaseVerdict::Finding(s) => format!("FINDING: {s}"),
    };
    let engines: Vec<&str> = checked.traces.iter().map(|(e, _)| e.as_str()).collect();
    let _ = writeln!(
        out,
        "\n{} on {}: {verdict}",
        case.target,
        engines.join(", ")
    );
    out
}

/// The matrix's normalisation, plus one rule for fuzzing: V8 quiets signalling f32 NaNs that
/// cross its JS boundary (a known Node divergence, pinned by marshal/nan-payload-* and
/// hostlayout/f32-nan-payloads-in-memory), and arbitrary inputs produce them all the time, so
/// f32 NaNs in results and host calls are compared with the quiet bit set.
///
/// Some trap kinds are compared as one, because an engine words them the same and its adapter
/// cannot tell them apart (Go guests meet none of them; generated modules meet them often):
/// V8 reports every failed float-to-int truncation as "float unrepresentable in integer range",
/// NaN (`bad_conversion_to_integer`) or out of range (`integer_overflow`) alike; a `call_indirect`
/// through a null element is "null function or function signature mismatch" in V8 (like a type
/// mismatch) and "invalid table access" in wazero (like an index out of bounds), so every failed
/// `call_indirect` is one kind. The cost: an engine that confused members of a group would not be
/// noticed; that it traps, and when, still is.
///
/// And one more: after `proc_exit`, wazero closes the module, so its memory is gone (a known
/// wazero divergence, pinned by the wazero entries in expectations/); the memory after an exit
/// is not compared.
fn normalize(trace: &Trace, scenario: &Scenario) -> Trace {
    let mut t = crate::normalize::normalize(trace, scenario);
    for step in &mut t.steps {
        if let Outcome::Trap { kind, .. } = &mut step.outcome {
            *kind = same_words(*kind);
        }
    }
    if t.steps
        .iter()
        .any(|s| matches!(s.outcome, Outcome::Exit { .. }))
        && !t.memory.is_not_taken()
    {
        t.memory = crate::trace::Memory::NotCompared {
            reason: "proc_exit ended the instance (wazero closes the module)".into(),
        };
    }
    for step in &mut t.steps {
        if let Outcome::Returned { values } = &mut step.outcome {
            for v in values.iter_mut() {
                if let Value::F32(bits) = v {
                    *bits = quiet_f32(*bits);
                }
            }
        }
        for call in &mut step.host_calls {
            if call.0.starts_with("record_f32(") || call.0.starts_with("echo_f32(") {
                call.0 = quiet_f32_text(&call.0);
            }
        }
    }
    t
}

fn same_words(kind: TrapKind) -> TrapKind {
    match kind {
        TrapKind::BadConversionToInteger => TrapKind::IntegerOverflow,
        TrapKind::IndirectCallNull | TrapKind::IndirectCallTypeMismatch => {
            TrapKind::TableOutOfBounds
        }
        k => k,
    }
}

fn quiet_f32(bits: u32) -> u32 {
    if f32::from_bits(bits).is_nan() {
        bits | 0x0040_0000
    } else {
        bits
    }
}

/// Quiets every `0x` + 8 hex digit f32 NaN in a rendered host call.
fn quiet_f32_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        let digits: String = rest[i + 2..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        match (digits.len(), u32::from_str_radix(&digits, 16)) {
            (8, Ok(bits)) => out.push_str(&format!("0x{:08x}", quiet_f32(bits))),
            _ => out.push_str(&rest[i..i + 2 + digits.len()]),
        }
        rest = &rest[i + 2 + digits.len()..];
    }
    out.push_str(rest);
    out
}

/// A fuzz target: how it turns bytes into a case (the oracle does the rest).
pub type Target = fn(&Oracle, &mut arbitrary::Unstructured) -> arbitrary::Result<Case>;

/// The fuzz targets by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("calls", calls::case),
    ("marshal", marshal::case),
    ("smith", smith::case),
];

/// One input of a target: its case, checked on every engine (a finding is written to disk).
pub fn run_target(
    target: Target,
    oracle: &Oracle,
    u: &mut arbitrary::Unstructured,
) -> arbitrary::Result<CaseVerdict> {
    let case = target(oracle, u)?;
    Ok(oracle.run(&case))
}

/// Appends a call of one of `exports`, chosen by `u`, with arguments of its types.
pub fn arbitrary_call(
    u: &mut arbitrary::Unstructured,
    plan: &mut Plan,
    exports: &[&module::Export],
) -> arbitrary::Result<()> {
    let e = u.choose(exports)?;
    let args = e
        .params
        .iter()
        .map(|t| smith::value(u, *t))
        .collect::<arbitrary::Result<Vec<_>>>()?;
    plan.call(&e.name, &args);
    Ok(())
}

pub fn target(name: &str) -> anyhow::Result<Target> {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
            anyhow::anyhow!(
                "unknown fuzz target `{name}`; there are: {}",
                names.join(", ")
            )
        })
}

/// The oracle of a fuzzing process, made once from the environment.
pub fn oracle() -> &'static Oracle {
    static ORACLE: std::sync::OnceLock<Oracle> = std::sync::OnceLock::new();
    ORACLE.get_or_init(|| {
        Oracle::from_env().unwrap_or_else(|e| panic!("reactor-harness fuzz: {e:#}"))
    })
}

/// What a `cargo fuzz` target calls with libFuzzer's bytes: the target's function on them. Inputs
/// too short to make a case are simply not cases.
pub fn entry(name: &str, data: &[u8]) {
    let make = target(name).unwrap_or_else(|e| panic!("{e:#}"));
    let _ = run_target(make, oracle(), &mut arbitrary::Unstructured::new(data));
}

/// What a fuzz target built as an ordinary binary does: runs each file it is given (corpus
/// inputs, crash files from libFuzzer) and says what the oracle made of it.
pub fn replay_files(name: &str, paths: impl IntoIterator<Item = String>) {
    let before = findings_count();
    for path in paths {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        entry(name, &data);
        println!("{path}: replayed");
    }
    let found = findings_count() - before;
    if found > 0 {
        eprintln!(
            "{found} findings, written to {}",
            findings::dir().join(name).display()
        );
        std::process::exit(1);
    }
}

/// How many findings have been written in this process (a campaign's count of new findings).
pub fn findings_count() -> usize {
    FINDINGS.load(std::sync::atomic::Ordering::SeqCst)
}

static FINDINGS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs a fuzz function on `n` inputs from a seeded generator, for `cargo test`: the same logic
/// as the campaigns, on a bounded budget, so that it cannot rot between campaigns.
pub fn seeded(n: usize, seed: u64, len: usize, mut f: impl FnMut(&mut arbitrary::Unstructured)) {
    let mut rng = crate::pinned::PinnedRandom::new();
    for _ in 0..(seed % 97) {
        rng.next_u64();
    }
    for _ in 0..n {
        let mut data = vec![0u8; len];
        rng.fill(&mut data);
        f(&mut arbitrary::Unstructured::new(&data));
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::Scripted;

    #[test]
    fn an_engine_that_panics_is_a_finding_about_it_not_a_crash_of_the_harness() {
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "_initialize")) (func (export "boom")))"#,
        )
        .unwrap();
        let all = engine::registry();
        let wasmi = engine::select(&all, &["wasmi".into()]).unwrap().remove(0);
        // Agrees with the reference except that it panics in the middle of `boom`, like an
        // adapter bug or a runtime's assertion.
        let panicky = Scripted(|export| {
            assert!(export != "boom", "the engine fell over");
            Outcome::Returned { values: vec![] }
        });
        let oracle = Oracle::with(vec![wasmi, Arc::new(panicky)]).unwrap();
        let case = Case {
            target: "test".into(),
            wasm: Arc::new(wasm),
            origin: "test".into(),
            plan: module::lifecycle(
                &wat::parse_str(r#"(module (func (export "_initialize")) (func (export "boom")))"#)
                    .unwrap(),
                &Default::default(),
            )
            .unwrap(),
            transient: true,
        };
        let checked = oracle.check(&case).unwrap();
        match &checked.verdict {
            CaseVerdict::Finding(s) => assert!(
                s.contains("scripted crashed") && s.contains("fell over"),
                "{s}"
            ),
            other => panic!("expected a finding, got {other:?}"),
        }
    }

    use super::*;

    #[test]
    fn f32_nans_in_host_calls_are_quieted_and_nothing_else_changes() {
        assert_eq!(
            quiet_f32_text("echo_f32(0x7fa00001) -> 0x7fa00001"),
            "echo_f32(0x7fe00001) -> 0x7fe00001"
        );
        assert_eq!(
            quiet_f32_text("record_f32(0x3f800000)"),
            "record_f32(0x3f800000)"
        );
        assert_eq!(quiet_f32(0x7f80_0000), 0x7f80_0000, "infinity is not a NaN");
    }

    #[test]
    fn plans_round_trip_through_toml() {
        let mut plan = Plan::default();
        plan.call("f", &[Value::I32(-1), Value::F64(0x7ff4_0000_0000_0001)]);
        plan.steps.push(PlanStep::WriteMemory {
            addr: 8,
            bytes: "00ff".into(),
        });
        let text = toml::to_string(&plan).unwrap();
        assert_eq!(toml::from_str::<Plan>(&text).unwrap(), plan);
        assert_eq!(plan.scenario("x").unwrap().steps.len(), 2);
    }
}
