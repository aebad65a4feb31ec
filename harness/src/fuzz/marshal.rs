//! Fuzz target `marshal`: bytes and HostLayout struct contents crossing the import and export
//! boundary of the fuzz guest in both directions, checked byte-exact against a model of the guest
//! and across engines.
//!
//! The host writes arbitrary bytes into the guest's buffer and struct; the guest hands them back
//! through `mem_dump`, `mem_xor`, `inc_i32` and `log`, and in its own results (`Checksum`,
//! `StructSum`); the host reads memory back. [`Model`] predicts every one of these byte for byte,
//! and the predictions are expectations of the plan, so an engine that corrupts a byte on the way
//! in or out fails even when every engine corrupts it the same way.

use super::calls::guest;
use super::{Case, Oracle, Plan, PlanStep};
use crate::trace::Value;
use arbitrary::{Result, Unstructured};
use std::sync::OnceLock;

const BUF_LEN: usize = 4096;
const SHARED_LEN: usize = 32;
/// go-guests/fuzz initialises `shared` to {I32: 7, I64: -3, F64: 2.5, Tag: "fuzz", Ok: true}.
const SHARED_INIT: [u8; SHARED_LEN] = {
    let mut s = [0u8; SHARED_LEN];
    s[0] = 7;
    let i64b = (-3i64).to_le_bytes();
    let f64b = 2.5f64.to_bits().to_le_bytes();
    let mut i = 0;
    while i < 8 {
        s[8 + i] = i64b[i];
        s[16 + i] = f64b[i];
        i += 1;
    }
    s[24] = b'f';
    s[25] = b'u';
    s[26] = b'z';
    s[27] = b'z';
    s[28] = 1;
    s
};

/// Where the guest's buffer and struct live. Package variables sit at fixed addresses of the
/// binary, the same on every engine; they are asked once, from the first engine.
#[derive(Debug, Clone, Copy)]
struct Addresses {
    buf: u32,
    shared: u32,
}

fn addresses(oracle: &Oracle) -> Addresses {
    static ADDR: OnceLock<Addresses> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let g = guest();
        let module = oracle.engines[0]
            .load(&g.wasm)
            .unwrap_or_else(|e| panic!("loading the fuzz guest: {e:#}"));
        let mut plan = Plan::default();
        plan.call("_initialize", &[]);
        plan.call("Buf", &[]);
        plan.call("StructPtr", &[]);
        let scenario = plan.scenario("addresses").expect("a fixed plan");
        let trace = crate::runner::run_scenario(module.as_ref(), &scenario, oracle.budget);
        let addr = |i: usize| match &trace.steps[i].outcome {
            crate::trace::Outcome::Returned { values } => match values.as_slice() {
                [Value::I32(p)] => *p as u32,
                other => panic!("the fuzz guest's step {i} returned {other:?}"),
            },
            other => panic!("the fuzz guest's step {i} ended {other:?}"),
        };
        Addresses {
            buf: addr(1),
            shared: addr(2),
        }
    })
}

/// What the guest's buffer and struct hold, as far as the host can tell.
struct Model {
    buf: Vec<u8>,
    shared: [u8; SHARED_LEN],
}

/// The guest's `span`: off to 0..len-1, n to 0..len-off.
fn span(off: i32, n: i32) -> (usize, usize) {
    let off = off.clamp(0, BUF_LEN as i32 - 1) as usize;
    (off, n.clamp(0, (BUF_LEN - off) as i32) as usize)
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(16_777_619)
    })
}

fn call(
    plan: &mut Plan,
    export: &str,
    args: &[Value],
    result: Option<Value>,
    calls: Option<Vec<String>>,
) {
    plan.steps.push(PlanStep::Call {
        export: export.into(),
        args: args.iter().map(Value::to_string).collect(),
        expect_result: result.map(|v| v.to_string()),
        expect_host_calls: calls,
    });
}

/// An offset and length that usually fall inside the buffer, and sometimes do not (the guest
/// clamps them; so does the model).
fn range(u: &mut Unstructured) -> Result<(i32, i32)> {
    if u.ratio(1, 8)? {
        return Ok((u.arbitrary()?, u.arbitrary()?));
    }
    let off = u.int_in_range(0..=BUF_LEN as i32 - 1)?;
    Ok((off, u.int_in_range(0..=64)?))
}

/// A case: `_initialize`, then up to 16 operations on the shared bytes, each with its predicted
/// effect as expectations.
pub fn case(oracle: &Oracle, u: &mut Unstructured) -> Result<Case> {
    let g = guest();
    let at = addresses(oracle);
    let mut m = Model {
        buf: vec![0; BUF_LEN],
        shared: SHARED_INIT,
    };
    let mut plan = Plan::default();
    plan.call("_initialize", &[]);
    for _ in 0..u.int_in_range(1..=16)? {
        match u.int_in_range(0..=9)? {
            0 => {
                let off = u.int_in_range(0..=BUF_LEN - 1)?;
                let len = u.int_in_range(1..=64.min(BUF_LEN - off))?;
                let bytes = u.bytes(len)?.to_vec();
                if bytes.len() < len {
                    break;
                }
                m.buf[off..off + len].copy_from_slice(&bytes);
                plan.steps.push(PlanStep::WriteMemory {
                    addr: at.buf + off as u32,
                    bytes: hex::encode(&bytes),
                });
            }
            1 => {
                let (o, n) = range(u)?;
                let (off, len) = span(o, n);
                let h = fnv1a(&m.buf[off..off + len]);
                call(
                    &mut plan,
                    "Checksum",
                    &[Value::I32(o), Value::I32(n)],
                    Some(Value::I32(h as i32)),
                    Some(vec![]),
                );
            }
            2 => {
                let (o, n) = range(u)?;
                let (off, len) = span(o, n);
                let dump = format!("mem_dump(hex:{})", hex::encode(&m.buf[off..off + len]));
                call(
                    &mut plan,
                    "DumpBuf",
                    &[Value::I32(o), Value::I32(n)],
                    None,
                    Some(vec![dump]),
                );
            }
            3 => {
                let (o, n) = range(u)?;
                let mask: i32 = u.arbitrary()?;
                let (off, len) = span(o, n);
                let seen = format!(
                    "mem_xor(hex:{}, {mask})",
                    hex::encode(&m.buf[off..off + len])
                );
                for b in &mut m.buf[off..off + len] {
                    *b ^= mask as u8;
                }
                call(
                    &mut plan,
                    "XorBuf",
                    &[Value::I32(o), Value::I32(n), Value::I32(mask)],
                    None,
                    Some(vec![seen]),
                );
            }
            4 => {
                let (off, len) = span(
                    u.int_in_range(0..=BUF_LEN as i32 - 1)?,
                    u.int_in_range(1..=64)?,
                );
                plan.steps.push(PlanStep::ReadMemory {
                    addr: at.buf + off as u32,
                    len: len as u32,
                    expect_bytes: Some(hex::encode(&m.buf[off..off + len])),
                });
            }
            5 => {
                let (o, n) = range(u)?;
                let (off, len) = span(o, n);
                let text = String::from_utf8_lossy(&m.buf[off..off + len]).into_owned();
                let log = format!("log({})", serde_json::Value::String(text));
                call(
                    &mut plan,
                    "LogBuf",
                    &[Value::I32(o), Value::I32(n)],
                    None,
                    Some(vec![log]),
                );
            }
            6 => {
                // A whole new struct; `Ok` stays a canonical bool (0 or 1): what Go does with
                // other bytes in a bool is not the ABI's to say.
                let mut bytes: [u8; SHARED_LEN] = u.arbitrary()?;
                bytes[28] &= 1;
                m.shared = bytes;
                plan.steps.push(PlanStep::WriteMemory {
                    addr: at.shared,
                    bytes: hex::encode(bytes),
                });
            }
            7 => {
                let dump = format!("mem_dump(hex:{})", hex::encode(m.shared));
                call(&mut plan, "DumpStruct", &[], None, Some(vec![dump]));
            }
            8 => {
                let old = i32::from_le_bytes(m.shared[0..4].try_into().expect("4 bytes"));
                m.shared[0..4].copy_from_slice(&old.wrapping_add(1).to_le_bytes());
                call(
                    &mut plan,
                    "IncStruct",
                    &[],
                    None,
                    Some(vec![format!("inc_i32(*{old})")]),
                );
            }
            _ => {
                let s = &m.shared;
                let word = |i: usize| i64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
                let mut sum = i64::from(i32::from_le_bytes(s[0..4].try_into().expect("4 bytes")))
                    .wrapping_add(word(8))
                    .wrapping_add(word(16));
                for (i, b) in s[24..28].iter().enumerate() {
                    sum = sum.wrapping_add(i64::from(*b) << (8 * i));
                }
                sum = sum.wrapping_add(i64::from(s[28] & 1));
                call(
                    &mut plan,
                    "StructSum",
                    &[],
                    Some(Value::I64(sum)),
                    Some(vec![]),
                );
                plan.steps.push(PlanStep::ReadMemory {
                    addr: at.shared,
                    len: SHARED_LEN as u32,
                    expect_bytes: Some(hex::encode(m.shared)),
                });
            }
        }
    }
    Ok(Case {
        target: "marshal".into(),
        wasm: g.wasm.clone(),
        origin: g.origin.clone(),
        plan,
        transient: false,
    })
}
