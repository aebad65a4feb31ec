//! The canonical Trace: what one engine did for one scenario, step by step. Every engine produces
//! it, every oracle reads it, every reporter prints it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A wasm value as it crossed the boundary. Floats are kept as raw bits so that NaN payloads and
/// signed zeros compare exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
}

/// The four wasm number types a Go reactor's boundary can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
}

impl Value {
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
        }
    }

    /// The value's bits widened to 64 (integers sign-extended), as the host-import module passes
    /// a re-entered export's result back to the guest.
    pub fn widen_i64(&self) -> i64 {
        match *self {
            Value::I32(v) => v as i64,
            Value::I64(v) => v,
            Value::F32(b) => b as i64,
            Value::F64(b) => b as i64,
        }
    }

    /// Converts an i64 argument to `ty`, the inverse of [`Value::widen_i64`] (truncating).
    pub fn narrow_from_i64(v: i64, ty: ValType) -> Value {
        match ty {
            ValType::I32 => Value::I32(v as i32),
            ValType::I64 => Value::I64(v),
            ValType::F32 => Value::F32(v as u32),
            ValType::F64 => Value::F64(v as u64),
        }
    }

    /// Parses the scenario syntax: `i32:5`, `u32:4294967295`, `i64:-1`, `u64:N`, `f32:1.5`,
    /// `f64:nan`, `f64:bits:0x7ff8000000000001`.
    pub fn parse(text: &str) -> Result<Value, String> {
        let (ty, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("value `{text}` has no type prefix (e.g. `i32:5`)"))?;
        let bad = |e: &dyn fmt::Display| format!("value `{text}`: {e}");
        let bits = rest.strip_prefix("bits:");
        let parse_hex = |s: &str| -> Result<u64, String> {
            let s = s.strip_prefix("0x").unwrap_or(s);
            u64::from_str_radix(s, 16).map_err(|e| bad(&e))
        };
        // Integers may also be written as hex bits: `u64:0x7ff4000000000001`, `i32:0xffffffff`.
        let int_bits = |width: u32| -> Option<Result<u64, String>> {
            let h = rest.strip_prefix("0x")?;
            Some(
                u64::from_str_radix(h, 16)
                    .map_err(|e| bad(&e))
                    .and_then(|v| {
                        if width < 64 && v >> width != 0 {
                            Err(bad(&format!("does not fit in {width} bits")))
                        } else {
                            Ok(v)
                        }
                    }),
            )
        };
        Ok(match (ty, bits) {
            ("i32" | "u32", None) if rest.starts_with("0x") => {
                Value::I32(int_bits(32).unwrap()? as u32 as i32)
            }
            ("i64" | "u64", None) if rest.starts_with("0x") => {
                Value::I64(int_bits(64).unwrap()? as i64)
            }
            ("i32", None) => Value::I32(rest.parse().map_err(|e| bad(&e))?),
            ("u32", None) => Value::I32(rest.parse::<u32>().map_err(|e| bad(&e))? as i32),
            ("i64", None) => Value::I64(rest.parse().map_err(|e| bad(&e))?),
            ("u64", None) => Value::I64(rest.parse::<u64>().map_err(|e| bad(&e))? as i64),
            ("f32", Some(b)) => Value::F32(
                u32::try_from(parse_hex(b)?).map_err(|_| bad(&"f32 bits exceed 32 bits"))?,
            ),
            ("f64", Some(b)) => Value::F64(parse_hex(b)?),
            ("f32", None) => Value::F32(parse_float(rest).map_err(|e| bad(&e))?.0),
            ("f64", None) => Value::F64(parse_float(rest).map_err(|e| bad(&e))?.1),
            (other, _) => return Err(format!("value `{text}`: unknown type `{other}`")),
        })
    }
}

/// Parses a decimal float (or nan/inf) to (f32 bits, f64 bits).
fn parse_float(s: &str) -> Result<(u32, u64), String> {
    let v: f64 = match s {
        "nan" => f64::NAN,
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => s.parse().map_err(|e| format!("{e}"))?,
    };
    Ok(((v as f32).to_bits(), v.to_bits()))
}

impl fmt::Display for Value {
    /// The canonical text form, which [`Value::parse`] reads back. Floats print as bits so that
    /// a rendered trace is exact; the decimal reading is added for people where it is a number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(b) => write!(f, "f32:bits:0x{b:08x}"),
            Value::F64(b) => write!(f, "f64:bits:0x{b:016x}"),
        }
    }
}

impl From<Value> for String {
    fn from(v: Value) -> String {
        v.to_string()
    }
}

impl TryFrom<String> for Value {
    type Error = String;
    fn try_from(s: String) -> Result<Value, String> {
        Value::parse(&s)
    }
}

/// Why a call did not return normally. Engines' own error texts differ; every adapter maps its
/// errors into this enum (keeping the raw text beside it) and only the kind is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrapKind {
    Unreachable,
    /// The execution budget (fuel or epoch deadline) ran out: a guest that never yields.
    Timeout,
    MemoryOutOfBounds,
    IntegerDivideByZero,
    IntegerOverflow,
    BadConversionToInteger,
    IndirectCallTypeMismatch,
    IndirectCallNull,
    TableOutOfBounds,
    StackOverflow,
    /// A host import refused the call (bad pointer, unknown export to re-enter, ...).
    HostError,
    /// The engine itself failed: its host process crashed, hung past the deadline, or answered
    /// with garbage. A finding about the engine, never about the guest.
    EngineCrash,
    Other,
}

impl TrapKind {
    /// Outcomes that depend on engine limits rather than on the guest: a divergence that involves
    /// one of them poisons the case instead of failing it.
    pub fn is_nondeterministic(self) -> bool {
        matches!(self, TrapKind::Timeout | TrapKind::StackOverflow)
    }

    pub fn parse(text: &str) -> Result<TrapKind, String> {
        serde_json::from_value(serde_json::Value::String(text.to_string()))
            .map_err(|_| format!("unknown trap kind `{text}`"))
    }

    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => format!("{self:?}"),
        }
    }
}

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Returned {
        values: Vec<Value>,
    },
    Trap {
        kind: TrapKind,
        /// The engine's own text, for people; cleared by normalisation, never compared.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        message: String,
    },
    Exit {
        code: i32,
    },
    /// A `read_memory` step: the bytes read, as hex.
    Memory {
        bytes: String,
    },
    /// A `write_memory` step that succeeded.
    Wrote,
    /// The engine refused the step itself (unknown export, bad address, wrong argument types):
    /// the host-side error, which is still part of the behaviour being compared.
    Refused {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        message: String,
    },
    /// The step was not run: the instance was discarded after a trap or exit.
    NotRun,
}

impl Outcome {
    /// A trap or exit ends an instance's useful life (ABI item 23).
    pub fn ends_instance(&self) -> bool {
        matches!(self, Outcome::Trap { .. } | Outcome::Exit { .. })
    }
}

/// One call the guest made into the `harness` host-import module, with decoded arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostCall(pub String);

/// One scenario step as one engine ran it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTrace {
    /// The step as written, e.g. `call Add(i32:2, i32:40)`.
    pub step: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_calls: Vec<HostCall>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

/// Everything one engine did for one scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// Set when the engine could not even load or instantiate the module: that is behaviour too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_error: Option<String>,
    pub steps: Vec<StepTrace>,
    /// The guest's linear memory after the last step (the memory oracle).
    #[serde(default, skip_serializing_if = "Memory::is_not_taken")]
    pub memory: Memory,
}

/// Marks a setup error that is an engine crash (a host process that died or printed garbage, an
/// adapter that panicked or stopped answering) rather than the engine refusing the module.
pub const ENGINE_CRASH: &str = "engine crash";

impl Trace {
    /// Why the engine crashed in this run, if it did: at setup or during a step.
    pub fn engine_crash(&self) -> Option<String> {
        if let Some(e) = self
            .setup_error
            .as_ref()
            .filter(|e| e.contains(ENGINE_CRASH))
        {
            return Some(e.clone());
        }
        self.steps.iter().find_map(|s| match &s.outcome {
            Outcome::Trap {
                kind: TrapKind::EngineCrash,
                message,
            } => Some(message.clone()),
            _ => None,
        })
    }
}

/// The memory oracle's view of the guest's linear memory after a scenario's last step. With the
/// environment pinned (virtual time included), a guest's memory is a deterministic function of
/// what it was asked to do, so engines must agree on it byte for byte.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Memory {
    /// No image was taken: the scenario did not get as far as an instance.
    #[default]
    NotTaken,
    /// The size in bytes and the SHA-256 of the whole memory.
    Digest { size: u64, sha256: String },
    /// The engine could not give the memory (no exported memory, a closed module, a dead host).
    Unavailable { reason: String },
    /// Taken, but not comparable across engines; normalize.rs says why.
    NotCompared { reason: String },
}

impl Memory {
    pub fn is_not_taken(&self) -> bool {
        matches!(self, Memory::NotTaken)
    }
    /// The digest of a memory image.
    pub fn of(image: &[u8]) -> Memory {
        use sha2::{Digest as _, Sha256};
        Memory::Digest {
            size: image.len() as u64,
            sha256: hex::encode(Sha256::digest(image)),
        }
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Memory::NotTaken => f.write_str("not taken"),
            Memory::Digest { size, sha256 } => write!(f, "{size} bytes, sha256 {sha256}"),
            Memory::Unavailable { reason } => write!(f, "unavailable: {reason}"),
            Memory::NotCompared { reason } => write!(f, "not compared: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_engine_crash_is_recognised_at_setup_and_in_steps_and_a_refusal_is_not() {
        let setup = |e: &str| Trace {
            setup_error: Some(e.into()),
            steps: vec![],
            memory: Memory::NotTaken,
        };
        let died = "instantiate: node: instantiate: engine crash: node: the host process died (signal: 11)";
        assert!(setup(died).engine_crash().is_some());
        assert!(setup("load: wasmtime: compiling: invalid module")
            .engine_crash()
            .is_none());
        let step = Trace {
            setup_error: None,
            steps: vec![StepTrace {
                step: "call f()".into(),
                outcome: Outcome::Trap {
                    kind: TrapKind::EngineCrash,
                    message: "the host printed garbage".into(),
                },
                host_calls: vec![],
                stdout: String::new(),
                stderr: String::new(),
            }],
            memory: Memory::NotTaken,
        };
        assert_eq!(
            step.engine_crash().as_deref(),
            Some("the host printed garbage")
        );
    }
    use super::*;

    #[test]
    fn values_round_trip_through_text() {
        for text in [
            "i32:-1",
            "i64:-9223372036854775808",
            "f32:bits:0x7fa00001",
            "f64:bits:0x7ff4000000000001",
        ] {
            assert_eq!(Value::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Value::parse("u32:4294967295").unwrap(), Value::I32(-1));
        assert_eq!(
            Value::parse("u64:18446744073709551615").unwrap(),
            Value::I64(-1)
        );
        assert_eq!(
            Value::parse("f64:1.5").unwrap(),
            Value::F64(1.5f64.to_bits())
        );
        assert_eq!(
            Value::parse("f32:-inf").unwrap(),
            Value::F32(f32::NEG_INFINITY.to_bits())
        );
        assert!(Value::parse("i32:4294967295").is_err());
        assert_eq!(
            Value::parse("u64:0x7ff4000000000001").unwrap(),
            Value::I64(0x7ff4000000000001)
        );
        assert_eq!(Value::parse("i32:0xffffffff").unwrap(), Value::I32(-1));
        assert!(Value::parse("u32:0x1ffffffff").is_err());
        assert!(Value::parse("f32:bits:0x1ffffffff").is_err());
        assert!(Value::parse("42").is_err());
    }

    #[test]
    fn trap_kinds_parse_by_their_snake_case_names() {
        assert_eq!(
            TrapKind::parse("memory_out_of_bounds").unwrap(),
            TrapKind::MemoryOutOfBounds
        );
        assert_eq!(TrapKind::Timeout.name(), "timeout");
        assert!(TrapKind::parse("segfault").is_err());
    }
}
