//! Scenarios are data: `go-guests/<guest>/scenarios.toml`, parsed and validated here.

use crate::trace::{TrapKind, Value};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    about: String,
    #[serde(default)]
    abi: Vec<u32>,
    #[serde(default)]
    step: Vec<RawStep>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    call: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    read_memory: Option<RawRead>,
    write_memory: Option<RawWrite>,
    #[serde(default)]
    after_trap: bool,
    undefined: Option<String>,
    // Expectations sit beside the action in the same table (serde's `flatten` cannot be combined
    // with `deny_unknown_fields`, and a misspelt expectation must be an error, not ignored).
    result: Option<String>,
    outcome: Option<String>,
    trap: Option<String>,
    exit: Option<i32>,
    stdout: Option<String>,
    stderr: Option<String>,
    stdout_contains: Option<Vec<String>>,
    stderr_contains: Option<Vec<String>>,
    stderr_lacks: Option<Vec<String>>,
    host_calls: Option<Vec<String>>,
    host_calls_contain: Option<Vec<String>>,
    bytes: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRead {
    at: Addr,
    #[serde(default)]
    offset: u32,
    len: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWrite {
    at: Addr,
    #[serde(default)]
    offset: u32,
    bytes: String,
}

/// A guest memory address: a literal, or `result:K`, the i32 result of step K.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Addr {
    Literal(u32),
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrRef {
    Literal(u32),
    ResultOf(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Call {
        export: String,
        args: Vec<Value>,
    },
    ReadMemory {
        at: AddrRef,
        offset: u32,
        len: u32,
    },
    WriteMemory {
        at: AddrRef,
        offset: u32,
        bytes: Vec<u8>,
    },
}

impl Action {
    /// The step as people read it in traces and reports.
    pub fn render(&self) -> String {
        let at = |a: &AddrRef, off: &u32| match a {
            AddrRef::Literal(n) => format!("{}", n + off),
            AddrRef::ResultOf(k) => format!("result:{k}+{off}"),
        };
        match self {
            Action::Call { export, args } => {
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                format!("call {export}({})", args.join(", "))
            }
            Action::ReadMemory { at: a, offset, len } => {
                format!("read_memory {} len {len}", at(a, offset))
            }
            Action::WriteMemory {
                at: a,
                offset,
                bytes,
            } => {
                format!("write_memory {} hex:{}", at(a, offset), hex::encode(bytes))
            }
        }
    }
}

/// How a step is expected to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeClass {
    Returned,
    Trap,
    Exit,
}

/// Spec expectations on one step: what Go's ABI says must happen, whatever the engines agree on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    pub result: Option<Value>,
    pub outcome: Option<OutcomeClass>,
    pub trap: Option<TrapKind>,
    pub exit: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub stdout_contains: Vec<String>,
    pub stderr_contains: Vec<String>,
    pub stderr_lacks: Vec<String>,
    pub host_calls: Option<Vec<String>>,
    pub host_calls_contain: Vec<String>,
    pub bytes: Option<Vec<u8>>,
}

impl Expect {
    /// How many separate checks this carries.
    pub fn count(&self) -> usize {
        [
            self.result.is_some(),
            self.outcome.is_some(),
            self.trap.is_some(),
            self.exit.is_some(),
            self.stdout.is_some(),
            self.stderr.is_some(),
            self.host_calls.is_some(),
            self.bytes.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
            + self.stdout_contains.len()
            + self.stderr_contains.len()
            + self.stderr_lacks.len()
            + self.host_calls_contain.len()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: Action,
    /// Run this step even though an earlier one trapped or exited (on purpose: ABI items 2, 23).
    pub after_trap: bool,
    /// Set, with the reason, on a step whose output the ABI leaves undefined (for example the
    /// first scheduling point after a trap, item 23): its outcome and host calls are compared
    /// across engines and its expectations checked, but not its stdout and stderr.
    pub undefined: Option<String>,
    pub expect: Expect,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub about: String,
    pub abi: Vec<u32>,
    pub steps: Vec<Step>,
}

impl Scenario {
    pub fn expectation_count(&self) -> usize {
        self.steps.iter().map(|s| s.expect.count()).sum()
    }
}

pub fn parse_hex(text: &str) -> Result<Vec<u8>> {
    let body = text
        .strip_prefix("hex:")
        .with_context(|| format!("bytes `{text}` must start with `hex:`"))?;
    hex::decode(body).with_context(|| format!("bytes `{text}` are not valid hex"))
}

/// Loads and validates one guest's scenarios. Every error names the file and the scenario.
pub fn load(path: &Path) -> Result<Vec<Scenario>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

pub fn parse(text: &str) -> Result<Vec<Scenario>> {
    // Syntax first, then each scenario on its own, so that an error names the scenario it is in.
    let table: toml::Table = toml::from_str(text).context("not a valid TOML file")?;
    if let Some(key) = table.keys().find(|k| *k != "scenario") {
        bail!("unknown top-level key `{key}` (a scenarios file holds [[scenario]] tables)");
    }
    let raw_list = match table.get("scenario") {
        None => Vec::new(),
        Some(toml::Value::Array(a)) => a.clone(),
        Some(_) => bail!("`scenario` must be an array of tables: [[scenario]]"),
    };
    let mut out: Vec<Scenario> = Vec::new();
    for (i, value) in raw_list.into_iter().enumerate() {
        let name = value
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{}", i + 1));
        let raw: RawScenario = value
            .try_into()
            .with_context(|| format!("scenario `{name}`"))?;
        let scenario = convert(raw).with_context(|| format!("scenario `{name}`"))?;
        if out.iter().any(|s| s.name == scenario.name) {
            bail!("scenario `{name}` is defined twice");
        }
        out.push(scenario);
    }
    Ok(out)
}

fn convert(raw: RawScenario) -> Result<Scenario> {
    if raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("scenario names use letters, digits, `-` and `_` only");
    }
    if raw.step.is_empty() {
        bail!("has no steps");
    }
    let mut steps = Vec::new();
    for (i, s) in raw.step.into_iter().enumerate() {
        steps.push(convert_step(s, i).with_context(|| format!("step {i}"))?);
    }
    let scenario = Scenario {
        name: raw.name,
        about: raw.about,
        abi: raw.abi,
        steps,
    };
    // A scenario that only checks "the engines agree" cannot catch what every engine gets wrong.
    if scenario.expectation_count() == 0 {
        bail!("carries no expectation of its own (add result, trap, stdout, host_calls, ...)");
    }
    Ok(scenario)
}

fn addr(a: Addr, step: usize) -> Result<AddrRef> {
    match a {
        Addr::Literal(n) => Ok(AddrRef::Literal(n)),
        Addr::Named(s) => {
            let k: usize = s
                .strip_prefix("result:")
                .and_then(|k| k.parse().ok())
                .with_context(|| format!("address `{s}` must be a number or `result:K`"))?;
            if k >= step {
                bail!("address `{s}` refers to step {k}, which does not come before step {step}");
            }
            Ok(AddrRef::ResultOf(k))
        }
    }
}

fn convert_step(raw: RawStep, index: usize) -> Result<Step> {
    let action = match (raw.call, raw.read_memory, raw.write_memory) {
        (Some(export), None, None) => Action::Call {
            export,
            args: raw
                .args
                .iter()
                .map(|a| Value::parse(a).map_err(anyhow::Error::msg))
                .collect::<Result<_>>()?,
        },
        (None, Some(r), None) => Action::ReadMemory {
            at: addr(r.at, index)?,
            offset: r.offset,
            len: r.len,
        },
        (None, None, Some(w)) => Action::WriteMemory {
            at: addr(w.at, index)?,
            offset: w.offset,
            bytes: parse_hex(&w.bytes)?,
        },
        _ => bail!("a step is exactly one of `call`, `read_memory`, `write_memory`"),
    };
    if !raw.args.is_empty() && !matches!(action, Action::Call { .. }) {
        bail!("`args` belongs to a `call` step");
    }
    let expect = Expect {
        result: raw
            .result
            .as_deref()
            .map(Value::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        outcome: raw
            .outcome
            .as_deref()
            .map(|o| match o {
                "returned" => Ok(OutcomeClass::Returned),
                "trap" => Ok(OutcomeClass::Trap),
                "exit" => Ok(OutcomeClass::Exit),
                other => Err(anyhow::anyhow!(
                    "outcome `{other}` is not one of returned, trap, exit"
                )),
            })
            .transpose()?,
        trap: raw
            .trap
            .as_deref()
            .map(TrapKind::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        exit: raw.exit,
        stdout: raw.stdout,
        stderr: raw.stderr,
        stdout_contains: raw.stdout_contains.unwrap_or_default(),
        stderr_contains: raw.stderr_contains.unwrap_or_default(),
        stderr_lacks: raw.stderr_lacks.unwrap_or_default(),
        host_calls: raw.host_calls,
        host_calls_contain: raw.host_calls_contain.unwrap_or_default(),
        bytes: raw.bytes.as_deref().map(parse_hex).transpose()?,
    };
    let mut expect = expect;
    // A call that says nothing about how it ends is expected to return: a trap or an exit nobody
    // asked for is a finding, not a detail.
    let says_how_it_ends = expect.result.is_some()
        || expect.outcome.is_some()
        || expect.trap.is_some()
        || expect.exit.is_some();
    if matches!(action, Action::Call { .. }) && !says_how_it_ends {
        expect.outcome = Some(OutcomeClass::Returned);
    }
    if expect.bytes.is_some() && !matches!(action, Action::ReadMemory { .. }) {
        bail!("`bytes` is an expectation of a `read_memory` step");
    }
    if raw
        .undefined
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        bail!("`undefined` needs the reason the ABI leaves this step undefined");
    }
    Ok(Step {
        action,
        after_trap: raw.after_trap,
        undefined: raw.undefined,
        expect,
    })
}

/// The property the `scenario_file` fuzz target checks, and `cargo test` replays over
/// corpus/scenario_file/: any bytes give scenarios or an error (never a panic), and every value an
/// accepted scenario holds prints back to itself.
pub fn check_scenario_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenarios) = parse(text) else { return };
    for s in &scenarios {
        assert!(
            s.expectation_count() > 0,
            "scenario `{}` was accepted with no expectation",
            s.name
        );
        for step in &s.steps {
            let values = match &step.action {
                Action::Call { args, .. } => args.clone(),
                _ => vec![],
            };
            for v in values.iter().chain(step.expect.result.iter()) {
                assert_eq!(
                    Value::parse(&v.to_string()).as_ref(),
                    Ok(v),
                    "value {v} does not print back to itself"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_step_kind_and_expectation() {
        let s = parse(
            r#"
            [[scenario]]
            name = "demo"
            abi = [15]
            [[scenario.step]]
            call = "_initialize"
            stdout = ""
            [[scenario.step]]
            call = "BufAddr"
            [[scenario.step]]
            write_memory = { at = "result:1", bytes = "hex:0102" }
            [[scenario.step]]
            read_memory = { at = "result:1", offset = 1, len = 1 }
            bytes = "hex:02"
            [[scenario.step]]
            call = "Add"
            args = ["i32:1", "u32:4294967295"]
            result = "i32:0"
            host_calls = ['log("x")']
            "#,
        )
        .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].steps.len(), 5);
        // three calls say nothing of how they end and are expected to return: three more checks
        assert_eq!(s[0].expectation_count(), 6);
        assert_eq!(s[0].steps[1].expect.outcome, Some(OutcomeClass::Returned));
        assert_eq!(s[0].steps[4].action.render(), "call Add(i32:1, i32:-1)");
        assert_eq!(
            s[0].steps[3].action.render(),
            "read_memory result:1+1 len 1"
        );
    }

    #[test]
    fn refuses_scenarios_that_assert_nothing_or_misspell_keys() {
        let none =
            "[[scenario]]\nname = \"x\"\n[[scenario.step]]\nread_memory = { at = 0, len = 1 }\n";
        assert!(format!("{:#}", parse(none).unwrap_err()).contains("no expectation"));
        let typo =
            "[[scenario]]\nname = \"x\"\n[[scenario.step]]\ncall = \"F\"\nresutl = \"i32:1\"\n";
        assert!(parse(typo).is_err());
        let forward = "[[scenario]]\nname = \"x\"\n[[scenario.step]]\nread_memory = { at = \"result:0\", len = 1 }\nbytes = \"hex:00\"\n";
        assert!(format!("{:#}", parse(forward).unwrap_err()).contains("does not come before"));
    }
}
