//! wasmi (2.x), a register-machine interpreter, with wasmi_wasi (wasi-common) preview1. Time is
//! bounded by fuel: wasmi has no epoch, so a spinning guest ends when its fuel runs out.

use crate::engine::{
    Capture, CaptureWriter, Engine, Instance, LoadedModule, ModuleMemo, NO_MEMORY,
};
use crate::hostabi::HostContext;
use crate::pinned::{self, Budget, PinnedClock, PinnedRandom};
use crate::pinned_wasi::PinnedWasi;
use crate::trace::{HostCall, Outcome, TrapKind, ValType, Value};
use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use wasi_common::pipe::WritePipe;
use wasmi::{Caller, Config, Extern, FuncType, Linker, Module, Store, Val};
use wasmi::{TrapCode, F32, F64};
use wasmi_wasi::wasi_common;
use wasmi_wasi::WasiCtx;

const VERSION: &str = "2.0.0";

pub struct Wasmi {
    engine: wasmi::Engine,
    memo: ModuleMemo<[u8; 32], Compiled>,
}

impl Wasmi {
    pub fn new() -> Self {
        let mut config = Config::default();
        config.consume_fuel(true);
        Wasmi {
            engine: wasmi::Engine::new(&config),
            memo: ModuleMemo::new(),
        }
    }
}

impl Default for Wasmi {
    fn default() -> Self {
        Self::new()
    }
}

struct Compiled {
    engine: wasmi::Engine,
    module: Module,
    linker: Linker<HostState>,
}

struct HostState {
    wasi: WasiCtx,
    calls: Vec<HostCall>,
    pinned: PinnedWasi,
}

impl Engine for Wasmi {
    fn name(&self) -> &'static str {
        "wasmi"
    }
    fn implementation(&self) -> &'static str {
        "wasmi interpreter, wasmi_wasi (wasi-common) preview1"
    }
    fn version(&self) -> String {
        VERSION.to_string()
    }
    fn load(&self, wasm: &[u8]) -> Result<Arc<dyn LoadedModule>> {
        let digest: [u8; 32] = Sha256::digest(wasm).into();
        let compiled = self
            .memo
            .get_or_try_insert(&digest, || self.compile(wasm))?;
        Ok(Arc::new(Loaded(compiled)))
    }
    fn load_transient(&self, wasm: &[u8]) -> Result<Arc<dyn LoadedModule>> {
        Ok(Arc::new(Loaded(Arc::new(self.compile(wasm)?))))
    }
}

impl Wasmi {
    fn compile(&self, wasm: &[u8]) -> Result<Compiled> {
        let module = Module::new(&self.engine, wasm)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("wasmi: compiling")?;
        Ok(Compiled {
            engine: self.engine.clone(),
            module,
            linker: linker(&self.engine)?,
        })
    }
}

fn val_type(t: ValType) -> wasmi::ValType {
    match t {
        ValType::I32 => wasmi::ValType::I32,
        ValType::I64 => wasmi::ValType::I64,
        ValType::F32 => wasmi::ValType::F32,
        ValType::F64 => wasmi::ValType::F64,
    }
}

fn from_wasm_type(t: &wasmi::ValType) -> Option<ValType> {
    Some(match t {
        wasmi::ValType::I32 => ValType::I32,
        wasmi::ValType::I64 => ValType::I64,
        wasmi::ValType::F32 => ValType::F32,
        wasmi::ValType::F64 => ValType::F64,
        _ => return None,
    })
}

fn from_val(v: &Val) -> Option<Value> {
    Some(match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(f) => Value::F32(f.to_bits()),
        Val::F64(f) => Value::F64(f.to_bits()),
        _ => return None,
    })
}

fn to_val(v: Value) -> Val {
    match v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(b) => Val::F32(F32::from_bits(b)),
        Value::F64(b) => Val::F64(F64::from_bits(b)),
    }
}

/// The error a host import raises; recognised again when the trap is classified.
#[derive(Debug)]
struct HostFault(String);
impl std::fmt::Display for HostFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl wasmi::errors::HostError for HostFault {}

fn fault(message: String) -> wasmi::Error {
    wasmi::Error::host(HostFault(message))
}

fn linker(engine: &wasmi::Engine) -> Result<Linker<HostState>> {
    let mut linker: Linker<HostState> = Linker::new(engine);
    wasmi_wasi::add_to_linker(&mut linker, |s| &mut s.wasi)
        .map_err(|e| anyhow::anyhow!("wasmi: linking WASI: {e}"))?;
    // The pinned environment's own preview1 functions replace wasi-common's (pinned_wasi.rs).
    crate::link_pinned_wasi!(linker, Caller, Extern, HostState, pinned);
    crate::link_harness_imports!(linker, |params, results| FuncType::new(params, results));
    Ok(linker)
}

/// Calls `func` with trace values, from the host or from inside a host import.
fn invoke(
    mut store: impl wasmi::AsContextMut,
    func: wasmi::Func,
    args: &[Value],
) -> Result<Vec<Value>, wasmi::Error> {
    let params: Vec<Val> = args.iter().map(|v| to_val(*v)).collect();
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    func.call(&mut store, &params, &mut results)?;
    Ok(results.iter().filter_map(from_val).collect())
}

/// The host-import module's view of a wasmi caller.
struct Ctx<'a, 'b>(&'a mut Caller<'b, HostState>);

impl HostContext for Ctx<'_, '_> {
    type Error = wasmi::Error;
    fn host_error(&mut self, message: String) -> wasmi::Error {
        fault(message)
    }
    fn memory(&mut self) -> Result<&mut [u8], wasmi::Error> {
        match self.0.get_export("memory").and_then(Extern::into_memory) {
            Some(mem) => Ok(mem.data_mut(&mut *self.0)),
            None => Err(fault(NO_MEMORY.into())),
        }
    }
    fn export_signature(&mut self, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)> {
        let func = self.0.get_export(name)?.into_func()?;
        let ty = func.ty(&*self.0);
        let params = ty
            .params()
            .iter()
            .map(from_wasm_type)
            .collect::<Option<_>>()?;
        let results = ty
            .results()
            .iter()
            .map(from_wasm_type)
            .collect::<Option<_>>()?;
        Some((params, results))
    }
    fn call_export(&mut self, name: &str, args: &[Value]) -> Result<Vec<Value>, wasmi::Error> {
        let func = self
            .0
            .get_export(name)
            .and_then(Extern::into_func)
            .ok_or_else(|| fault(format!("the guest has no export `{name}`")))?;
        invoke(&mut *self.0, func, args)
    }
    fn host_calls(&mut self) -> &mut Vec<HostCall> {
        &mut self.0.data_mut().calls
    }
}

struct Loaded(Arc<Compiled>);

impl LoadedModule for Loaded {
    fn instantiate(&self, budget: Budget) -> Result<Box<dyn Instance>> {
        let c = &self.0;
        let (stdout, stderr) = (Capture::default(), Capture::default());
        let clock = PinnedClock::new();
        let clocks = wasi_common::WasiClocks::new()
            .with_system(SystemClock(clock.clone()))
            .with_monotonic(MonotonicClock(clock.clone()));
        let mut wasi = WasiCtx::new(
            Box::new(Random(PinnedRandom::new())),
            clocks,
            Box::new(wasi_common::sync::sched::SyncSched::new()),
            wasi_common::table::Table::new(),
        );
        for arg in pinned::ARGV {
            wasi.push_arg(arg).context("wasmi: pinning argv")?;
        }
        for (k, v) in pinned::ENV {
            wasi.push_env(k, v).context("wasmi: pinning env")?;
        }
        wasi.set_stdout(Box::new(WritePipe::new(CaptureWriter(stdout.shared()))));
        wasi.set_stderr(Box::new(WritePipe::new(CaptureWriter(stderr.shared()))));
        let mut store = Store::new(
            &c.engine,
            HostState {
                wasi,
                calls: Vec::new(),
                pinned: PinnedWasi {
                    clock,
                    random: PinnedRandom::new(),
                },
            },
        );
        store
            .set_fuel(budget.fuel)
            .map_err(|e| anyhow::anyhow!("wasmi: setting fuel: {e}"))?;
        let instance = c
            .linker
            .instantiate_and_start(&mut store, &c.module)
            .map_err(|e| anyhow::anyhow!("wasmi: instantiating: {e}"))?;
        Ok(Box::new(Live {
            store,
            instance,
            budget,
            stdout,
            stderr,
        }))
    }
}

struct Live {
    store: Store<HostState>,
    instance: wasmi::Instance,
    budget: Budget,
    stdout: Capture,
    stderr: Capture,
}

impl Instance for Live {
    fn call(&mut self, export: &str, args: &[Value]) -> Outcome {
        let Some(func) = self.instance.get_func(&self.store, export) else {
            return Outcome::Refused {
                message: format!("no exported function `{export}`"),
            };
        };
        if let Err(e) = self.store.set_fuel(self.budget.fuel) {
            return Outcome::Refused {
                message: format!("setting fuel: {e}"),
            };
        }
        match invoke(&mut self.store, func, args) {
            Ok(values) => Outcome::Returned { values },
            Err(e) => classify(e),
        }
    }
    fn memory(&mut self) -> Result<&mut [u8], String> {
        let mem = self
            .instance
            .get_memory(&mut self.store, "memory")
            .ok_or(NO_MEMORY)?;
        Ok(mem.data_mut(&mut self.store))
    }
    fn take_host_calls(&mut self) -> Vec<HostCall> {
        std::mem::take(&mut self.store.data_mut().calls)
    }
    fn take_output(&mut self) -> (Vec<u8>, Vec<u8>) {
        (self.stdout.take_new(), self.stderr.take_new())
    }
}

/// Maps a wasmi error to the trace's outcome: exits, traps by code, host faults.
fn classify(e: wasmi::Error) -> Outcome {
    if let Some(code) = e.i32_exit_status() {
        return Outcome::Exit { code };
    }
    let message = e.to_string();
    let kind = if e.downcast_ref::<HostFault>().is_some() {
        TrapKind::HostError
    } else if let Some(code) = e.as_trap_code() {
        match code {
            TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
            TrapCode::OutOfFuel => TrapKind::Timeout,
            TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivideByZero,
            TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
            TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
            TrapCode::BadSignature => TrapKind::IndirectCallTypeMismatch,
            TrapCode::IndirectCallToNull => TrapKind::IndirectCallNull,
            TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
            TrapCode::StackOverflow => TrapKind::StackOverflow,
            _ => TrapKind::Other,
        }
    } else if matches!(
        e.kind(),
        wasmi::errors::ErrorKind::Message(_) | wasmi::errors::ErrorKind::Host(_)
    ) {
        // Raised by a host function while the guest ran (a WASI function that fails instead of
        // returning an errno): the guest's call traps with it.
        TrapKind::HostError
    } else {
        // A refusal of the call itself (wrong argument types or count).
        return Outcome::Refused { message };
    };
    Outcome::Trap { kind, message }
}

struct SystemClock(PinnedClock);
impl wasi_common::WasiSystemClock for SystemClock {
    fn resolution(&self) -> std::time::Duration {
        PinnedClock::RESOLUTION
    }
    fn now(&self, _precision: std::time::Duration) -> cap_std::time::SystemTime {
        cap_std::time::SystemTime::from_std(std::time::UNIX_EPOCH + self.0.wall())
    }
}

/// wasi-common reports monotonic time relative to the first reading, so this clock only has to
/// advance from a fixed origin. (Guests read the clocks through pinned_wasi.rs; these serve
/// wasi-common's own bookkeeping.)
struct MonotonicClock(PinnedClock);
impl wasi_common::WasiMonotonicClock for MonotonicClock {
    fn resolution(&self) -> std::time::Duration {
        PinnedClock::RESOLUTION
    }
    fn now(&self, _precision: std::time::Duration) -> cap_std::time::Instant {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let origin = *ORIGIN.get_or_init(std::time::Instant::now);
        cap_std::time::Instant::from_std(origin + self.0.monotonic())
    }
}

struct Random(PinnedRandom);
impl rand_core_06::RngCore for Random {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill(dst)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), rand_core_06::Error> {
        self.0.fill(dst);
        Ok(())
    }
}
