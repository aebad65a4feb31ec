//! Fuzz target `smith`: wasm-smith modules shaped like reactors, run through the reactor lifecycle
//! on every engine, their results, host calls, output and memory diffed.
//!
//! The shape: exports exactly `_initialize`, five functions of assorted signatures and a capped
//! `memory`; imports only from the harness's host-import module and a safe WASI subset
//! (`random_get`, `clock_time_get`: both pinned); WebAssembly 2.0 features that every engine here
//! implements (no SIMD, threads, tail calls, GC, exceptions, memory64 or multi-memory, which
//! wazero or Node 20 lack); canonical NaNs; loops and calls bounded by wasm-smith's fuel, so a
//! module ends in a deterministic `unreachable` instead of a timeout.

use super::{Case, Oracle, Plan, PlanStep};
use crate::trace::{ValType, Value};
use arbitrary::{Result, Unstructured};
use std::sync::{Arc, OnceLock};

const IMPORTS: &str = r#"(module
  (import "harness" "record_i32" (func (param i32)))
  (import "harness" "record_i64" (func (param i64)))
  (import "harness" "record_f32" (func (param f32)))
  (import "harness" "record_f64" (func (param f64)))
  (import "harness" "echo_i32" (func (param i32) (result i32)))
  (import "harness" "echo_i64" (func (param i64) (result i64)))
  (import "harness" "echo_f32" (func (param f32) (result f32)))
  (import "harness" "echo_f64" (func (param f64) (result f64)))
  (import "harness" "inc_i32" (func (param i32)))
  (import "harness" "mem_dump" (func (param i32 i32)))
  (import "harness" "mem_xor" (func (param i32 i32 i32)))
  (import "harness" "log" (func (param i32 i32)))
  (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32))))"#;

const EXPORTS: &str = r#"(module
  (func (export "_initialize"))
  (func (export "run") (param i32 i32) (result i32) unreachable)
  (func (export "wide") (param i64 i64) (result i64) unreachable)
  (func (export "float") (param f32 f64) (result f64) unreachable)
  (func (export "pair") (result i32 i64) unreachable)
  (func (export "poke") (param i32))
  (memory (export "memory") 1 4))"#;

/// The fuel wasm-smith builds into each module: loop iterations and calls before `unreachable`.
const FUEL: u32 = 10_000;

/// The wasm-smith configuration of a reactor-shaped module.
pub fn config() -> wasm_smith::Config {
    static SHAPES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    let (imports, exports) = SHAPES.get_or_init(|| {
        (
            wat::parse_str(IMPORTS).expect("the import shape parses"),
            wat::parse_str(EXPORTS).expect("the export shape parses"),
        )
    });
    wasm_smith::Config {
        available_imports: Some(imports.clone()),
        exports: Some(exports.clone()),
        allow_start_export: false,
        canonicalize_nans: true,
        // The export shape brings the one memory; wasm-smith would otherwise add a second.
        max_memories: 0,
        max_memory32_bytes: 4 * 65536,
        memory_max_size_required: true,
        max_tables: 1,
        max_table_elements: 64,
        table_max_size_required: true,
        max_funcs: 24,
        max_instructions: 200,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        tail_call_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        memory64_enabled: false,
        reference_types_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        custom_page_sizes_enabled: false,
        compact_imports_enabled: false,
        ..wasm_smith::Config::default()
    }
}

/// An arbitrary value of a type, biased towards the edges (zero, extremes, NaN payloads).
///
/// f32 NaNs are always quiet: V8 quiets a signalling f32 NaN whenever it crosses the JS boundary
/// (a known Node divergence, pinned by marshal/nan-payload-* and by
/// harness/expectations/node.toml), so a signalling one in any argument makes every input that
/// uses it rediscover that one divergence, through whatever the guest computes from it.
pub fn value(u: &mut Unstructured, t: ValType) -> Result<Value> {
    Ok(match raw_value(u, t)? {
        Value::F32(bits) if f32::from_bits(bits).is_nan() => Value::F32(bits | 0x0040_0000),
        v => v,
    })
}

fn raw_value(u: &mut Unstructured, t: ValType) -> Result<Value> {
    let edge = u.ratio(1, 4)?;
    Ok(match t {
        ValType::I32 if edge => Value::I32(*u.choose(&[0, 1, -1, i32::MIN, i32::MAX])?),
        ValType::I32 => Value::I32(u.arbitrary()?),
        ValType::I64 if edge => Value::I64(*u.choose(&[0, 1, -1, i64::MIN, i64::MAX])?),
        ValType::I64 => Value::I64(u.arbitrary()?),
        ValType::F32 if edge => {
            Value::F32(*u.choose(&[0, 0x8000_0000, 0x7f80_0000, 0x7fc0_0000, 0x7fe0_0001, 1])?)
        }
        ValType::F32 => Value::F32(u.arbitrary()?),
        ValType::F64 if edge => Value::F64(*u.choose(&[
            0,
            0x8000_0000_0000_0000,
            0x7ff0_0000_0000_0000,
            0x7ff8_0000_0000_0000,
            0x7ff4_0000_0000_0001,
        ])?),
        ValType::F64 => Value::F64(u.arbitrary()?),
    })
}

/// A case: a generated module, `_initialize`, then up to ten calls of its exports and writes to
/// its memory, in an arbitrary order with arbitrary arguments. The plan is drawn first (the
/// exports are fixed by the shape), so that wasm-smith, which takes whatever bytes are left,
/// cannot starve it.
pub fn case(_oracle: &Oracle, u: &mut Unstructured) -> Result<Case> {
    let exports = super::module::exports(&config().exports.expect("the shape has exports"))
        .expect("the export shape parses");
    let callable: Vec<_> = exports.iter().filter(|e| e.name != "_initialize").collect();
    let mut plan = Plan {
        after_trap: true,
        ..Plan::default()
    };
    plan.call("_initialize", &[]);
    for _ in 0..u.int_in_range(1..=10)? {
        if u.ratio(1, 6)? {
            let len = u.int_in_range(1..=32)?;
            plan.steps.push(PlanStep::WriteMemory {
                addr: u.int_in_range(0..=65536 - 32)?,
                bytes: hex::encode(u.bytes(len)?),
            });
            continue;
        }
        super::arbitrary_call(u, &mut plan, &callable)?;
    }
    let mut module = wasm_smith::Module::new(config(), u)?;
    module
        .ensure_termination(FUEL)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(Case {
        target: "smith".into(),
        wasm: Arc::new(module.to_bytes()),
        origin: "wasm-smith (harness/src/fuzz/smith.rs)".into(),
        plan,
        transient: true,
    })
}
