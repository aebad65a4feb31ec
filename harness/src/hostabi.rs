//! The `harness` host-import module that guests may import: defined once here (names, wasm
//! signatures, behaviour, how each call is rendered in the trace) and linked by every engine
//! through the small [`HostContext`] seam, so no adapter re-implements an import.

use crate::trace::{HostCall, ValType, Value};

pub const MODULE: &str = "harness";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFn {
    Log,
    RecordI32,
    RecordI64,
    RecordF32,
    RecordF64,
    EchoI32,
    EchoI64,
    EchoF32,
    EchoF64,
    IncI32,
    MemDump,
    MemXor,
    Reenter,
}

/// One import of the module: its name and wasm signature.
#[derive(Debug, Clone, Copy)]
pub struct Import {
    pub name: &'static str,
    pub params: &'static [ValType],
    pub results: &'static [ValType],
    pub func: ImportFn,
}

use ValType::{F32, F64, I32, I64};

pub const IMPORTS: &[Import] = &[
    Import {
        name: "log",
        params: &[I32, I32],
        results: &[],
        func: ImportFn::Log,
    },
    Import {
        name: "record_i32",
        params: &[I32],
        results: &[],
        func: ImportFn::RecordI32,
    },
    Import {
        name: "record_i64",
        params: &[I64],
        results: &[],
        func: ImportFn::RecordI64,
    },
    Import {
        name: "record_f32",
        params: &[F32],
        results: &[],
        func: ImportFn::RecordF32,
    },
    Import {
        name: "record_f64",
        params: &[F64],
        results: &[],
        func: ImportFn::RecordF64,
    },
    Import {
        name: "echo_i32",
        params: &[I32],
        results: &[I32],
        func: ImportFn::EchoI32,
    },
    Import {
        name: "echo_i64",
        params: &[I64],
        results: &[I64],
        func: ImportFn::EchoI64,
    },
    Import {
        name: "echo_f32",
        params: &[F32],
        results: &[F32],
        func: ImportFn::EchoF32,
    },
    Import {
        name: "echo_f64",
        params: &[F64],
        results: &[F64],
        func: ImportFn::EchoF64,
    },
    Import {
        name: "inc_i32",
        params: &[I32],
        results: &[],
        func: ImportFn::IncI32,
    },
    Import {
        name: "mem_dump",
        params: &[I32, I32],
        results: &[],
        func: ImportFn::MemDump,
    },
    Import {
        name: "mem_xor",
        params: &[I32, I32, I32],
        results: &[],
        func: ImportFn::MemXor,
    },
    Import {
        name: "reenter",
        params: &[I32, I32, I64],
        results: &[I64],
        func: ImportFn::Reenter,
    },
];

/// The largest block a host import reads in one call; a guest asking for more is refused rather
/// than letting a wild length allocate gigabytes.
pub const MAX_HOST_READ: u32 = 1 << 20;

/// What an engine lends the host-import module while an import runs.
pub trait HostContext {
    /// The engine's own error type: a nested export's trap must travel out unchanged.
    type Error;
    fn host_error(&mut self, message: String) -> Self::Error;
    /// The guest's exported memory, or the engine's error when it has none.
    fn memory(&mut self) -> Result<&mut [u8], Self::Error>;
    fn read_memory(&mut self, addr: u32, len: u32) -> Result<Vec<u8>, Self::Error> {
        let read = crate::engine::read_bytes(self.memory()?, addr, len);
        read.map_err(|m| self.host_error(m))
    }
    fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let written = crate::engine::write_bytes(self.memory()?, addr, bytes);
        written.map_err(|m| self.host_error(m))
    }
    /// The parameter and result types of the guest's export `name`, if it exists.
    fn export_signature(&mut self, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)>;
    fn call_export(&mut self, name: &str, args: &[Value]) -> Result<Vec<Value>, Self::Error>;
    /// The trace's list of host calls for the current step.
    fn host_calls(&mut self) -> &mut Vec<HostCall>;
}

fn i32_arg(v: Value) -> i32 {
    match v {
        Value::I32(x) => x,
        other => unreachable!("signature checked by the engine, got {other}"),
    }
}

fn render_scalar(v: Value) -> String {
    match v {
        Value::I32(x) => x.to_string(),
        Value::I64(x) => x.to_string(),
        Value::F32(b) => format!("0x{b:08x}"),
        Value::F64(b) => format!("0x{b:016x}"),
    }
}

fn read_checked<C: HostContext>(
    ctx: &mut C,
    what: &str,
    ptr: i32,
    len: i32,
) -> Result<Vec<u8>, C::Error> {
    if len < 0 || len as u32 > MAX_HOST_READ {
        return Err(ctx.host_error(format!("{MODULE}.{what}: length {len} out of range")));
    }
    ctx.read_memory(ptr as u32, len as u32)
}

/// Runs one import call. The engine adapter has already checked the argument types against
/// [`Import::params`]; the returned values match [`Import::results`].
pub fn dispatch<C: HostContext>(
    ctx: &mut C,
    import: &Import,
    args: &[Value],
) -> Result<Vec<Value>, C::Error> {
    let name = import.name;
    let record = |ctx: &mut C, text: String| ctx.host_calls().push(HostCall(text));
    match import.func {
        ImportFn::Log => {
            let bytes = read_checked(ctx, name, i32_arg(args[0]), i32_arg(args[1]))?;
            let text = String::from_utf8_lossy(&bytes);
            record(
                ctx,
                format!("log({})", serde_json::Value::String(text.into_owned())),
            );
            Ok(vec![])
        }
        ImportFn::RecordI32 | ImportFn::RecordI64 | ImportFn::RecordF32 | ImportFn::RecordF64 => {
            record(ctx, format!("{name}({})", render_scalar(args[0])));
            Ok(vec![])
        }
        ImportFn::EchoI32 | ImportFn::EchoI64 | ImportFn::EchoF32 | ImportFn::EchoF64 => {
            let v = render_scalar(args[0]);
            record(ctx, format!("{name}({v}) -> {v}"));
            Ok(vec![args[0]])
        }
        ImportFn::IncI32 => {
            let ptr = i32_arg(args[0]);
            let old = read_checked(ctx, name, ptr, 4)?;
            let old = i32::from_le_bytes(old.try_into().expect("read 4 bytes"));
            record(ctx, format!("inc_i32(*{old})"));
            ctx.write_memory(ptr as u32, &old.wrapping_add(1).to_le_bytes())?;
            Ok(vec![])
        }
        ImportFn::MemDump => {
            let bytes = read_checked(ctx, name, i32_arg(args[0]), i32_arg(args[1]))?;
            record(ctx, format!("mem_dump(hex:{})", hex::encode(&bytes)));
            Ok(vec![])
        }
        ImportFn::MemXor => {
            let (ptr, mask) = (i32_arg(args[0]), i32_arg(args[2]));
            let bytes = read_checked(ctx, name, ptr, i32_arg(args[1]))?;
            record(ctx, format!("mem_xor(hex:{}, {mask})", hex::encode(&bytes)));
            let flipped: Vec<u8> = bytes.iter().map(|b| b ^ mask as u8).collect();
            ctx.write_memory(ptr as u32, &flipped)?;
            Ok(vec![])
        }
        ImportFn::Reenter => {
            let raw = read_checked(ctx, name, i32_arg(args[0]), i32_arg(args[1]))?;
            let export = String::from_utf8_lossy(&raw).into_owned();
            let arg = match args[2] {
                Value::I64(v) => v,
                other => unreachable!("signature checked by the engine, got {other}"),
            };
            let Some((params, _)) = ctx.export_signature(&export) else {
                return Err(ctx.host_error(format!(
                    "{MODULE}.reenter: the guest has no export `{export}`"
                )));
            };
            let call_args: Vec<Value> = match params.as_slice() {
                [] => vec![],
                [ty] => vec![Value::narrow_from_i64(arg, *ty)],
                more => {
                    return Err(ctx.host_error(format!(
                        "{MODULE}.reenter: export `{export}` takes {} parameters; at most one can be re-entered",
                        more.len()
                    )))
                }
            };
            // The call is recorded before the nested export runs, so the trace keeps the order in
            // which the guest made its calls; the result is filled in when it returns.
            let quoted = serde_json::Value::String(export.clone());
            let slot = ctx.host_calls().len();
            record(ctx, format!("reenter({quoted}, {arg})"));
            let results = ctx.call_export(&export, &call_args)?;
            let ret = results.first().map(Value::widen_i64).unwrap_or(0);
            ctx.host_calls()[slot] = HostCall(format!("reenter({quoted}, {arg}) -> {ret}"));
            Ok(vec![Value::I64(ret)])
        }
    }
}

/// Links every import of [`IMPORTS`] into a wasmtime or wasmi `Linker` as a dynamically typed
/// host function that decodes its arguments, runs [`dispatch`] and encodes the results. `$ty`
/// builds the function type from (params, results) iterators of the engine's value types; the
/// adapter supplies `val_type`, `from_val`, `to_val` and a `Ctx` wrapper for its caller. One
/// macro because the two linkers' APIs have the same shape but no common trait.
#[macro_export]
macro_rules! link_harness_imports {
    ($linker:expr, |$p:ident, $r:ident| $ty:expr) => {{
        for import in $crate::hostabi::IMPORTS {
            let $p = import.params.iter().map(|t| val_type(*t));
            let $r = import.results.iter().map(|t| val_type(*t));
            $linker
                .func_new(
                    $crate::hostabi::MODULE,
                    import.name,
                    $ty,
                    move |mut caller, params, results| {
                        let args: Vec<Value> = params.iter().filter_map(from_val).collect();
                        let out = $crate::hostabi::dispatch(&mut Ctx(&mut caller), import, &args)?;
                        for (slot, v) in results.iter_mut().zip(out) {
                            *slot = to_val(v);
                        }
                        Ok(())
                    },
                )
                .map_err(|e| {
                    anyhow::anyhow!("linking {}.{}: {e}", $crate::hostabi::MODULE, import.name)
                })?;
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A host context over a plain byte array, to pin the module's behaviour without an engine.
    struct Fake {
        mem: Vec<u8>,
        calls: Vec<HostCall>,
        exports: HashMap<&'static str, (Vec<ValType>, Vec<ValType>)>,
        nested: Vec<(String, Vec<Value>)>,
    }

    impl HostContext for Fake {
        type Error = String;
        fn host_error(&mut self, m: String) -> String {
            m
        }
        fn memory(&mut self) -> Result<&mut [u8], String> {
            Ok(&mut self.mem)
        }
        fn export_signature(&mut self, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)> {
            self.exports.get(name).cloned()
        }
        fn call_export(&mut self, name: &str, args: &[Value]) -> Result<Vec<Value>, String> {
            self.nested.push((name.to_string(), args.to_vec()));
            self.calls.push(HostCall("nested".into()));
            Ok(vec![Value::I32(-2)])
        }
        fn host_calls(&mut self) -> &mut Vec<HostCall> {
            &mut self.calls
        }
    }

    fn fake() -> Fake {
        let mut mem = vec![0u8; 64];
        mem[..5].copy_from_slice(b"Twice");
        mem[8..12].copy_from_slice(&41i32.to_le_bytes());
        let exports = HashMap::from([("Twice", (vec![ValType::I32], vec![ValType::I32]))]);
        Fake {
            mem,
            calls: vec![],
            exports,
            nested: vec![],
        }
    }

    fn import(name: &str) -> &'static Import {
        IMPORTS.iter().find(|i| i.name == name).unwrap()
    }

    #[test]
    fn each_import_records_its_decoded_call() {
        let mut f = fake();
        dispatch(&mut f, import("log"), &[Value::I32(0), Value::I32(5)]).unwrap();
        dispatch(&mut f, import("inc_i32"), &[Value::I32(8)]).unwrap();
        dispatch(
            &mut f,
            import("mem_xor"),
            &[Value::I32(8), Value::I32(2), Value::I32(0xff)],
        )
        .unwrap();
        let out = dispatch(
            &mut f,
            import("echo_f64"),
            &[Value::F64(0x7ff4000000000001)],
        )
        .unwrap();
        assert_eq!(out, vec![Value::F64(0x7ff4000000000001)]);
        let rendered: Vec<&str> = f.calls.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            rendered,
            [
                "log(\"Twice\")",
                "inc_i32(*41)",
                "mem_xor(hex:2a00, 255)",
                "echo_f64(0x7ff4000000000001) -> 0x7ff4000000000001"
            ]
        );
        assert_eq!(
            &f.mem[8..12],
            &[0xd5, 0xff, 0, 0],
            "42 xor 0xff in the low two bytes"
        );
    }

    #[test]
    fn reenter_adapts_the_argument_and_keeps_call_order() {
        let mut f = fake();
        let out = dispatch(
            &mut f,
            import("reenter"),
            &[Value::I32(0), Value::I32(5), Value::I64(1 << 33 | 7)],
        )
        .unwrap();
        assert_eq!(out, vec![Value::I64(-2)], "i32 result sign-extended");
        assert_eq!(
            f.nested,
            vec![("Twice".to_string(), vec![Value::I32(7)])],
            "i64 argument truncated to i32"
        );
        assert_eq!(f.calls[0].0, "reenter(\"Twice\", 8589934599) -> -2");
        assert_eq!(f.calls[1].0, "nested");
    }

    #[test]
    fn bad_guest_requests_are_host_errors() {
        let mut f = fake();
        assert!(dispatch(&mut f, import("log"), &[Value::I32(60), Value::I32(10)]).is_err());
        assert!(dispatch(&mut f, import("log"), &[Value::I32(0), Value::I32(-1)]).is_err());
        let missing = dispatch(
            &mut f,
            import("reenter"),
            &[Value::I32(1), Value::I32(3), Value::I64(0)],
        );
        assert!(missing.unwrap_err().contains("no export `wic`"));
    }
}
