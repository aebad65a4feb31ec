//! wasmtime (48.x) with wasmtime-wasi's preview1. Time is bounded by epoch interruption; compiled
//! modules are memoised in-process and cached on disk across runs.

use crate::engine::{Engine, Instance, LoadedModule, ModuleMemo, NO_MEMORY};
use crate::hostabi::HostContext;
use crate::pinned::{self, Budget, PinnedClock, PinnedRandom};
use crate::pinned_wasi::PinnedWasi;
use crate::trace::{HostCall, Outcome, TrapKind, ValType, Value};
use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use wasmtime::{Caller, Config, Extern, FuncType, Linker, Module, Store, Trap, Val};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

const VERSION: &str = "48.0.8";
/// How often the epoch advances; a step's wall budget is counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Cranelift, the optimizing compiler.
    Cranelift,
    /// Winch, the baseline (single-pass) compiler.
    Winch,
    /// Pulley, wasmtime's portable interpreter (Cranelift compiles to Pulley bytecode).
    Pulley,
}

pub struct Wasmtime {
    strategy: Strategy,
    engine: OnceLock<std::result::Result<wasmtime::Engine, String>>,
    memo: ModuleMemo<[u8; 32], Compiled>,
}

impl Wasmtime {
    pub fn new(strategy: Strategy) -> Self {
        Wasmtime {
            strategy,
            engine: OnceLock::new(),
            memo: ModuleMemo::new(),
        }
    }

    fn engine(&self) -> Result<&wasmtime::Engine> {
        self.engine
            .get_or_init(|| {
                let mut config = Config::new();
                config.epoch_interruption(true);
                match self.strategy {
                    Strategy::Cranelift => {
                        config.strategy(wasmtime::Strategy::Cranelift);
                    }
                    Strategy::Winch => {
                        config.strategy(wasmtime::Strategy::Winch);
                    }
                    Strategy::Pulley => {
                        config.target("pulley64").map_err(|e| format!("{e:#}"))?;
                    }
                }
                let engine = wasmtime::Engine::new(&config).map_err(|e| format!("{e:#}"))?;
                // One ticker per engine for the life of the process: the epoch is the clock that
                // deadlines are counted against.
                let weak = engine.weak();
                std::thread::Builder::new()
                    .name(format!("{}-epoch", self.name()))
                    .spawn(move || {
                        while let Some(engine) = weak.upgrade() {
                            drop(engine);
                            std::thread::sleep(EPOCH_TICK);
                            match weak.upgrade() {
                                Some(e) => e.increment_epoch(),
                                None => break,
                            }
                        }
                    })
                    .map_err(|e| format!("cannot start the epoch thread: {e}"))?;
                Ok(engine)
            })
            .as_ref()
            .map_err(|e| anyhow::anyhow!("{}: engine configuration failed: {e}", self.name()))
    }

    /// Compiles, or loads from the on-disk cache of earlier runs, keyed by the module's digest,
    /// this wasmtime's version and the strategy.
    fn compile(&self, engine: &wasmtime::Engine, wasm: &[u8], digest: &[u8; 32]) -> Result<Module> {
        let path = crate::paths::cache_dir().join("compiled").join(format!(
            "{}-{VERSION}-{}.cwasm",
            self.name(),
            hex::encode(&digest[..12])
        ));
        let use_cache = !crate::bench::compile_cache_disabled();
        if use_cache && path.exists() {
            // SAFETY: the file was written by `Module::serialize` of this same wasmtime version and
            // configuration (both are in the file name), under our own target directory;
            // wasmtime also checks the version and configuration in the header and refuses a mismatch.
            match unsafe { Module::deserialize_file(engine, &path) } {
                Ok(m) => return Ok(m),
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let module = Module::new(engine, wasm).map_err(anyhow::Error::from)?;
        if !use_cache {
            return Ok(module);
        }
        if let Ok(bytes) = module.serialize() {
            // A cache that cannot be written only costs time next run.
            let _ = crate::paths::write_atomically(&path, &bytes);
        }
        Ok(module)
    }
}

struct Compiled {
    engine: wasmtime::Engine,
    module: Module,
    linker: Linker<HostState>,
}

struct HostState {
    wasi: WasiP1Ctx,
    calls: Vec<HostCall>,
    pinned: PinnedWasi,
}

impl Engine for Wasmtime {
    fn name(&self) -> &'static str {
        match self.strategy {
            Strategy::Cranelift => "wasmtime",
            Strategy::Winch => "wasmtime-winch",
            Strategy::Pulley => "wasmtime-pulley",
        }
    }
    fn implementation(&self) -> &'static str {
        match self.strategy {
            Strategy::Cranelift => "wasmtime, Cranelift compiler, wasmtime-wasi preview1",
            Strategy::Winch => "wasmtime, Winch baseline compiler, wasmtime-wasi preview1",
            Strategy::Pulley => "wasmtime, Pulley interpreter, wasmtime-wasi preview1",
        }
    }
    fn version(&self) -> String {
        VERSION.to_string()
    }
    fn availability(&self) -> Result<(), String> {
        self.engine().map(|_| ()).map_err(|e| format!("{e:#}"))
    }
    fn load(&self, wasm: &[u8]) -> Result<Arc<dyn LoadedModule>> {
        let engine = self.engine()?;
        let digest: [u8; 32] = Sha256::digest(wasm).into();
        let compiled = self.memo.get_or_try_insert(&digest, || {
            let module = self
                .compile(engine, wasm, &digest)
                .with_context(|| format!("{}: compiling", self.name()))?;
            let linker = linker(engine)?;
            Ok(Compiled {
                engine: engine.clone(),
                module,
                linker,
            })
        })?;
        Ok(Arc::new(Loaded(compiled)))
    }
    fn load_transient(&self, wasm: &[u8]) -> Result<Arc<dyn LoadedModule>> {
        let engine = self.engine()?;
        let module = Module::new(engine, wasm)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{}: compiling", self.name()))?;
        Ok(Arc::new(Loaded(Arc::new(Compiled {
            engine: engine.clone(),
            module,
            linker: linker(engine)?,
        }))))
    }
}

fn val_type(t: ValType) -> wasmtime::ValType {
    match t {
        ValType::I32 => wasmtime::ValType::I32,
        ValType::I64 => wasmtime::ValType::I64,
        ValType::F32 => wasmtime::ValType::F32,
        ValType::F64 => wasmtime::ValType::F64,
    }
}

fn from_val(v: &Val) -> Option<Value> {
    Some(match *v {
        Val::I32(x) => Value::I32(x),
        Val::I64(x) => Value::I64(x),
        Val::F32(b) => Value::F32(b),
        Val::F64(b) => Value::F64(b),
        _ => return None,
    })
}

fn to_val(v: Value) -> Val {
    match v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(b) => Val::F32(b),
        Value::F64(b) => Val::F64(b),
    }
}

fn from_wasm_type(t: &wasmtime::ValType) -> Option<ValType> {
    Some(match t {
        wasmtime::ValType::I32 => ValType::I32,
        wasmtime::ValType::I64 => ValType::I64,
        wasmtime::ValType::F32 => ValType::F32,
        wasmtime::ValType::F64 => ValType::F64,
        _ => return None,
    })
}

/// The error a host import raises; recognised again when the trap is classified.
#[derive(Debug)]
struct HostFault(String);
impl std::fmt::Display for HostFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for HostFault {}

fn linker(engine: &wasmtime::Engine) -> Result<Linker<HostState>> {
    let mut linker: Linker<HostState> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| &mut s.wasi)
        .map_err(anyhow::Error::from)?;
    // The pinned environment's own preview1 functions replace wasmtime-wasi's (pinned_wasi.rs).
    crate::link_pinned_wasi!(linker, Caller, Extern, HostState, pinned);
    crate::link_harness_imports!(linker, |params, results| FuncType::new(
        engine, params, results
    ));
    Ok(linker)
}

/// Calls `func` with trace values, from the host or from inside a host import.
fn invoke(
    mut store: impl wasmtime::AsContextMut,
    func: wasmtime::Func,
    args: &[Value],
) -> wasmtime::Result<Vec<Value>> {
    let params: Vec<Val> = args.iter().map(|v| to_val(*v)).collect();
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    func.call(&mut store, &params, &mut results)?;
    Ok(results.iter().filter_map(from_val).collect())
}

/// The host-import module's view of a wasmtime caller.
struct Ctx<'a, 'b>(&'a mut Caller<'b, HostState>);

impl HostContext for Ctx<'_, '_> {
    type Error = wasmtime::Error;
    fn host_error(&mut self, message: String) -> wasmtime::Error {
        wasmtime::Error::new(HostFault(message))
    }
    fn memory(&mut self) -> Result<&mut [u8], wasmtime::Error> {
        match self.0.get_export("memory").and_then(Extern::into_memory) {
            Some(mem) => Ok(mem.data_mut(&mut *self.0)),
            None => Err(wasmtime::Error::new(HostFault(NO_MEMORY.into()))),
        }
    }
    fn export_signature(&mut self, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)> {
        let func = self.0.get_export(name)?.into_func()?;
        let ty = func.ty(&*self.0);
        let params = ty
            .params()
            .map(|t| from_wasm_type(&t))
            .collect::<Option<_>>()?;
        let results = ty
            .results()
            .map(|t| from_wasm_type(&t))
            .collect::<Option<_>>()?;
        Some((params, results))
    }
    fn call_export(&mut self, name: &str, args: &[Value]) -> Result<Vec<Value>, wasmtime::Error> {
        let func = self
            .0
            .get_export(name)
            .and_then(Extern::into_func)
            .ok_or_else(|| {
                wasmtime::Error::new(HostFault(format!("the guest has no export `{name}`")))
            })?;
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
        let stdout = MemoryOutputPipe::new(crate::engine::CAPTURE_LIMIT);
        let stderr = MemoryOutputPipe::new(crate::engine::CAPTURE_LIMIT);
        let clock = PinnedClock::new();
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .args(pinned::ARGV)
            .envs(pinned::ENV)
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(WallClock(clock.clone()))
            .monotonic_clock(MonotonicClock(clock.clone()))
            .secure_random(Random(PinnedRandom::new()))
            .insecure_random(Random(PinnedRandom::new()))
            .insecure_random_seed(u128::from(PinnedRandom::SEED))
            .build_p1();
        let mut store = Store::new(
            &c.engine,
            HostState {
                wasi,
                calls: Vec::new(),
                pinned: PinnedWasi {
                    clock: clock.clone(),
                    random: PinnedRandom::new(),
                },
            },
        );
        store.epoch_deadline_trap();
        store.set_epoch_deadline(ticks(budget.wall));
        let instance = c
            .linker
            .instantiate(&mut store, &c.module)
            .map_err(anyhow::Error::from)?;
        Ok(Box::new(Live {
            store,
            instance,
            budget,
            stdout,
            stderr,
            seen: (0, 0),
        }))
    }
}

fn ticks(d: Duration) -> u64 {
    (d.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

struct Live {
    store: Store<HostState>,
    instance: wasmtime::Instance,
    budget: Budget,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    seen: (usize, usize),
}

impl Instance for Live {
    fn call(&mut self, export: &str, args: &[Value]) -> Outcome {
        let Some(func) = self.instance.get_func(&mut self.store, export) else {
            return Outcome::Refused {
                message: format!("no exported function `{export}`"),
            };
        };
        self.store.set_epoch_deadline(ticks(self.budget.wall));
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
        let out = self.stdout.contents();
        let err = self.stderr.contents();
        let new = (out[self.seen.0..].to_vec(), err[self.seen.1..].to_vec());
        self.seen = (out.len(), err.len());
        new
    }
}

/// Maps a wasmtime error to the trace's outcome: exits, traps by code, host faults.
fn classify(e: wasmtime::Error) -> Outcome {
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Outcome::Exit { code: exit.0 };
    }
    let message = format!("{e:#}");
    let kind = if e.downcast_ref::<HostFault>().is_some() {
        TrapKind::HostError
    } else if let Some(trap) = e.downcast_ref::<Trap>() {
        match trap {
            Trap::UnreachableCodeReached => TrapKind::Unreachable,
            Trap::Interrupt | Trap::OutOfFuel => TrapKind::Timeout,
            Trap::MemoryOutOfBounds | Trap::HeapMisaligned => TrapKind::MemoryOutOfBounds,
            Trap::IntegerDivisionByZero => TrapKind::IntegerDivideByZero,
            Trap::IntegerOverflow => TrapKind::IntegerOverflow,
            Trap::BadConversionToInteger => TrapKind::BadConversionToInteger,
            Trap::BadSignature => TrapKind::IndirectCallTypeMismatch,
            Trap::IndirectCallToNull => TrapKind::IndirectCallNull,
            Trap::TableOutOfBounds => TrapKind::TableOutOfBounds,
            Trap::StackOverflow => TrapKind::StackOverflow,
            _ => TrapKind::Other,
        }
    } else if e.downcast_ref::<wasmtime::WasmBacktrace>().is_some() {
        // An error raised by a host function while the guest ran (a WASI function that fails
        // instead of returning an errno): the guest's call traps with it.
        TrapKind::HostError
    } else {
        // Not raised while the guest ran: a refusal of the call itself (wrong argument types).
        return Outcome::Refused { message };
    };
    Outcome::Trap { kind, message }
}

struct WallClock(PinnedClock);
impl wasmtime_wasi::HostWallClock for WallClock {
    fn resolution(&self) -> Duration {
        PinnedClock::RESOLUTION
    }
    fn now(&self) -> Duration {
        self.0.wall()
    }
}

struct MonotonicClock(PinnedClock);
impl wasmtime_wasi::HostMonotonicClock for MonotonicClock {
    fn resolution(&self) -> u64 {
        PinnedClock::RESOLUTION.as_nanos() as u64
    }
    fn now(&self) -> u64 {
        self.0.monotonic().as_nanos() as u64
    }
}

struct Random(PinnedRandom);
impl rand_core_010::TryRng for Random {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill(dst);
        Ok(())
    }
}
