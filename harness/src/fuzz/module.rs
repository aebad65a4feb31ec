//! What a module exports, read from its bytes, and the reactor lifecycle of any module as a plan:
//! `_initialize` if it is exported, then every other exported function once, in export order.

use super::Plan;
use crate::trace::{ValType, Value};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// An exported function and its signature in trace types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

/// The exported functions of a module, in export order. Functions whose signature uses a type
/// outside i32/i64/f32/f64 (v128, references) cannot be called with trace values: left out.
pub fn exports(wasm: &[u8]) -> Result<Vec<Export>> {
    use wasmparser::{Parser, Payload, TypeRef};
    let mut types: Vec<Option<(Vec<ValType>, Vec<ValType>)>> = Vec::new();
    let mut funcs: Vec<u32> = Vec::new(); // type index of every function, imports first
    let mut out = Vec::new();
    let convert = |t: &wasmparser::ValType| match t {
        wasmparser::ValType::I32 => Some(ValType::I32),
        wasmparser::ValType::I64 => Some(ValType::I64),
        wasmparser::ValType::F32 => Some(ValType::F32),
        wasmparser::ValType::F64 => Some(ValType::F64),
        _ => None,
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.context("parsing the module")? {
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types() {
                    let f = ty.context("reading a type")?;
                    let params: Option<Vec<_>> = f.params().iter().map(convert).collect();
                    let results: Option<Vec<_>> = f.results().iter().map(convert).collect();
                    types.push(params.zip(results));
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    if let TypeRef::Func(t) = import.context("reading an import")?.ty {
                        funcs.push(t);
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    funcs.push(t.context("reading a function")?);
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.context("reading an export")?;
                    if e.kind != wasmparser::ExternalKind::Func {
                        continue;
                    }
                    let sig = funcs
                        .get(e.index as usize)
                        .and_then(|t| types.get(*t as usize))
                        .with_context(|| format!("export `{}` names no function", e.name))?;
                    if let Some((params, results)) = sig {
                        out.push(Export {
                            name: e.name.to_string(),
                            params: params.clone(),
                            results: results.clone(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The zero value of a type.
pub fn zero(t: ValType) -> Value {
    match t {
        ValType::I32 => Value::I32(0),
        ValType::I64 => Value::I64(0),
        ValType::F32 => Value::F32(0),
        ValType::F64 => Value::F64(0),
    }
}

/// The lifecycle plan of a module: `_initialize` if exported, then each other exported function
/// with zero arguments, or with the arguments given for it in `args` (canonical value text).
pub fn lifecycle(wasm: &[u8], args: &BTreeMap<String, Vec<String>>) -> Result<Plan> {
    let exports = exports(wasm)?;
    for name in args.keys() {
        if !exports.iter().any(|e| &e.name == name) {
            bail!("--args names `{name}`, which is not an exported function of the module");
        }
    }
    // Any module, not only Go reactors: a trap does not end the lifecycle.
    let mut plan = Plan {
        after_trap: true,
        ..Plan::default()
    };
    let (init, rest): (Vec<&Export>, Vec<&Export>) =
        exports.iter().partition(|e| e.name == "_initialize");
    for e in init.into_iter().chain(rest) {
        let values = match args.get(&e.name) {
            Some(given) => {
                let values = given
                    .iter()
                    .map(|a| Value::parse(a).map_err(anyhow::Error::msg))
                    .collect::<Result<Vec<_>>>()
                    .with_context(|| format!("--args for `{}`", e.name))?;
                let types: Vec<ValType> = values.iter().map(Value::ty).collect();
                if types != e.params {
                    bail!(
                        "--args for `{}` are {types:?}, but it takes {:?}",
                        e.name,
                        e.params
                    );
                }
                values
            }
            None => e.params.iter().map(|t| zero(*t)).collect(),
        };
        plan.call(&e.name, &values);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_initialises_first_and_fills_zero_arguments() {
        let wasm = wat::parse_str(
            r#"(module
                (import "harness" "record_i32" (func (param i32)))
                (func (export "f") (param i64 f32) (result i32) i32.const 1)
                (func (export "_initialize"))
                (func (export "v") (param v128))
                (memory (export "memory") 1))"#,
        )
        .unwrap();
        let e = exports(&wasm).unwrap();
        assert_eq!(
            e.len(),
            2,
            "the v128 function cannot be called and is left out"
        );
        assert_eq!(e[0].params, vec![ValType::I64, ValType::F32]);
        let plan = lifecycle(&wasm, &BTreeMap::new()).unwrap();
        let scenario = plan.scenario("m").unwrap();
        let rendered: Vec<String> = scenario.steps.iter().map(|s| s.action.render()).collect();
        assert_eq!(
            rendered,
            ["call _initialize()", "call f(i64:0, f32:bits:0x00000000)"]
        );
        let bad = BTreeMap::from([("f".to_string(), vec!["i32:1".to_string()])]);
        assert!(lifecycle(&wasm, &bad).is_err());
    }
}
