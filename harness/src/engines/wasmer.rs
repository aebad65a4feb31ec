//! wasmer (7.4.x) with wasmer-wasix's preview1, behind the `wasmer` feature. Singlepass compiles:
//! wasmer's Cranelift pins a cranelift release that cannot share a build with wasmtime's. Time is
//! bounded by wasmer's metering middleware, counted like wasmi's fuel; modules are memoised
//! in-process only.

use crate::engine::{Capture, Engine, Instance, LoadedModule, ModuleMemo, NO_MEMORY};
use crate::hostabi::{self, HostContext};
use crate::pinned::{self, Budget};
use crate::pinned_wasi::PinnedWasi;
use crate::trace::{HostCall, Outcome, TrapKind, ValType, Value};
use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use wasmer::sys::vm::TrapCode;
use wasmer::sys::wasmparser::Operator;
use wasmer::sys::{CompilerConfig, Singlepass};
use wasmer::{
    AsStoreMut, Function, FunctionEnv, FunctionEnvMut, FunctionType, Imports, Memory, Module,
    RuntimeError, Store,
};
use wasmer_middlewares::metering::{self, Metering, MeteringPoints};
use wasmer_wasix::runtime::task_manager::tokio::TokioTaskManager;
use wasmer_wasix::virtual_fs::{DualWriteFile, NullFile};
use wasmer_wasix::{PluggableRuntime, VirtualTaskManager, WasiEnv, WasiError, WasiFunctionEnv};

const VERSION: &str = "7.4.2";
const WASI: &str = "wasi_snapshot_preview1";

/// WASI errno values the shadowed preview1 functions return (witx `errno`).
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;

pub struct Wasmer {
    /// The tokio runtime wasix's task manager runs on, made on first use (start-up).
    shared: OnceLock<std::result::Result<Shared, String>>,
    memo: ModuleMemo<[u8; 32], Compiled>,
}

struct Shared {
    /// wasix drives `poll_oneoff` sleeps and its other async work on tokio; its default task
    /// manager borrows the caller's runtime (`Handle::current()`), and the harness has none, so
    /// the engine owns one for its whole life.
    _tokio: tokio::runtime::Runtime,
    tasks: Arc<dyn VirtualTaskManager>,
}

impl Wasmer {
    pub fn new() -> Self {
        Wasmer {
            shared: OnceLock::new(),
            memo: ModuleMemo::new(),
        }
    }

    fn shared(&self) -> Result<&Shared> {
        self.shared
            .get_or_init(|| {
                // One worker is enough: it only wakes sleepers; the guest runs on the caller.
                let tokio = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("wasmer-wasix")
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
                // From a handle, not the runtime: a task manager made from a runtime shuts the
                // runtime down when any clone of it is dropped.
                let tasks: Arc<dyn VirtualTaskManager> =
                    Arc::new(TokioTaskManager::new(tokio.handle().clone()));
                Ok(Shared {
                    _tokio: tokio,
                    tasks,
                })
            })
            .as_ref()
            .map_err(|e| anyhow::anyhow!("wasmer: {e}"))
    }

    /// Compiles with Singlepass and the metering middleware. A `Metering` may serve one module
    /// only (it panics on a second), so every module gets its own compiler configuration and
    /// engine; an engine is cheap next to compiling a Go reactor.
    fn compile(&self, wasm: &[u8], tasks: &Arc<dyn VirtualTaskManager>) -> Result<Compiled> {
        let mut compiler = Singlepass::new();
        // Singlepass canonicalises NaNs by default; wasmtime, wasmi and wazero pass payloads
        // through, and the marshal guest pins them bit for bit.
        compiler.canonicalize_nans(false);
        // One point per operator, like wasmi's fuel; the limit is reset before every step.
        compiler.push_middleware(Arc::new(Metering::new(
            Budget::default().fuel,
            |_: &Operator| 1,
        )));
        let engine = wasmer::Engine::from(compiler);
        let module = Module::new(&engine, wasm).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut runtime = PluggableRuntime::new(tasks.clone());
        runtime.set_engine(engine.clone());
        Ok(Compiled {
            engine,
            module,
            runtime: Arc::new(runtime),
        })
    }
}

impl Default for Wasmer {
    fn default() -> Self {
        Self::new()
    }
}

struct Compiled {
    engine: wasmer::Engine,
    module: Module,
    runtime: Arc<PluggableRuntime>,
}

/// What our host functions of one instance share. wasmer gives each host function an
/// environment in the store: wasix's functions have wasix's `WasiEnv` (the WASI context lives
/// there, in the same store), ours have this.
struct HostState {
    calls: Vec<HostCall>,
    /// Set once instantiation has finished: the host imports reach the guest's memory and
    /// exports through them (wasmer's caller has no `get_export`).
    instance: Option<wasmer::Instance>,
    memory: Option<Memory>,
    pinned: PinnedWasi,
}

impl Engine for Wasmer {
    fn name(&self) -> &'static str {
        "wasmer"
    }
    fn implementation(&self) -> &'static str {
        "wasmer 7.4.2, Singlepass, wasmer-wasix preview1"
    }
    fn version(&self) -> String {
        VERSION.to_string()
    }
    fn availability(&self) -> Result<(), String> {
        self.shared().map(|_| ()).map_err(|e| format!("{e:#}"))
    }
    fn load(&self, wasm: &[u8]) -> Result<Arc<dyn LoadedModule>> {
        let tasks = self.shared()?.tasks.clone();
        let digest: [u8; 32] = Sha256::digest(wasm).into();
        let compiled = self.memo.get_or_try_insert(&digest, || {
            self.compile(wasm, &tasks).context("wasmer: compiling")
        })?;
        Ok(Arc::new(Loaded(compiled)))
    }
}

fn val_type(t: ValType) -> wasmer::Type {
    match t {
        ValType::I32 => wasmer::Type::I32,
        ValType::I64 => wasmer::Type::I64,
        ValType::F32 => wasmer::Type::F32,
        ValType::F64 => wasmer::Type::F64,
    }
}

fn from_wasm_type(t: &wasmer::Type) -> Option<ValType> {
    Some(match t {
        wasmer::Type::I32 => ValType::I32,
        wasmer::Type::I64 => ValType::I64,
        wasmer::Type::F32 => ValType::F32,
        wasmer::Type::F64 => ValType::F64,
        _ => return None,
    })
}

fn from_val(v: &wasmer::Value) -> Option<Value> {
    Some(match *v {
        wasmer::Value::I32(x) => Value::I32(x),
        wasmer::Value::I64(x) => Value::I64(x),
        wasmer::Value::F32(f) => Value::F32(f.to_bits()),
        wasmer::Value::F64(f) => Value::F64(f.to_bits()),
        _ => return None,
    })
}

fn to_val(v: Value) -> wasmer::Value {
    match v {
        Value::I32(x) => wasmer::Value::I32(x),
        Value::I64(x) => wasmer::Value::I64(x),
        Value::F32(b) => wasmer::Value::F32(f32::from_bits(b)),
        Value::F64(b) => wasmer::Value::F64(f64::from_bits(b)),
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
impl std::error::Error for HostFault {}

fn fault(message: String) -> RuntimeError {
    RuntimeError::user(Box::new(HostFault(message)))
}

/// The guest's whole memory as a slice, borrowed from the store for as long as `_store` is.
fn memory_slice<'s>(memory: &Memory, _store: &'s mut impl AsStoreMut) -> &'s mut [u8] {
    let view = memory.view(&*_store);
    let (ptr, len) = (view.data_ptr(), view.data_size() as usize);
    if len == 0 {
        return &mut [];
    }
    // SAFETY: the memory belongs to this store, and the slice keeps the store mutably borrowed,
    // so no wasm code can run and the memory cannot grow or move while the slice lives.
    unsafe { std::slice::from_raw_parts_mut(ptr, len) }
}

/// The signature of the guest's export `name`, in trace types.
fn signature(
    store: &impl wasmer::AsStoreRef,
    func: &Function,
) -> Option<(Vec<ValType>, Vec<ValType>)> {
    let ty = func.ty(store);
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

/// Calls `func` with trace values, from the host or from inside a host import.
fn invoke(
    store: &mut impl AsStoreMut,
    func: &Function,
    args: &[Value],
) -> Result<Vec<Value>, RuntimeError> {
    let params: Vec<wasmer::Value> = args.iter().map(|v| to_val(*v)).collect();
    let results = func.call(store, &params)?;
    Ok(results.iter().filter_map(from_val).collect())
}

/// The host-import module's view of a wasmer host call.
struct Ctx<'a, 'b>(&'a mut FunctionEnvMut<'b, HostState>);

impl HostContext for Ctx<'_, '_> {
    type Error = RuntimeError;
    fn host_error(&mut self, message: String) -> RuntimeError {
        fault(message)
    }
    fn memory(&mut self) -> Result<&mut [u8], RuntimeError> {
        let memory = self
            .0
            .data()
            .memory
            .clone()
            .ok_or_else(|| fault(NO_MEMORY.into()))?;
        Ok(memory_slice(&memory, self.0))
    }
    fn export_signature(&mut self, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)> {
        let func = self
            .0
            .data()
            .instance
            .as_ref()?
            .exports
            .get_function(name)
            .ok()?
            .clone();
        signature(&*self.0, &func)
    }
    fn call_export(&mut self, name: &str, args: &[Value]) -> Result<Vec<Value>, RuntimeError> {
        let func = self
            .0
            .data()
            .instance
            .as_ref()
            .and_then(|i| i.exports.get_function(name).ok().cloned())
            .ok_or_else(|| fault(format!("the guest has no export `{name}`")))?;
        // A nested trap comes back as the same RuntimeError and travels out unchanged: wasmer
        // unwraps a RuntimeError returned by a host function instead of wrapping it again.
        invoke(self.0, &func, args)
    }
    fn host_calls(&mut self) -> &mut Vec<HostCall> {
        &mut self.0.data_mut().calls
    }
}

/// The `harness` module: one dynamic host function per import, all through `hostabi::dispatch`.
fn define_harness(store: &mut Store, env: &FunctionEnv<HostState>, imports: &mut Imports) {
    for import in hostabi::IMPORTS {
        let ty = FunctionType::new(
            import
                .params
                .iter()
                .map(|t| val_type(*t))
                .collect::<Vec<_>>(),
            import
                .results
                .iter()
                .map(|t| val_type(*t))
                .collect::<Vec<_>>(),
        );
        let func = Function::new_with_env(
            store,
            env,
            ty,
            move |mut caller: FunctionEnvMut<HostState>, params| {
                let args: Vec<Value> = params.iter().filter_map(from_val).collect();
                let out = hostabi::dispatch(&mut Ctx(&mut caller), import, &args)?;
                Ok(out.into_iter().map(to_val).collect())
            },
        );
        imports.define(hostabi::MODULE, import.name, func);
    }
}

// wasix offers no hook for its clocks or its random source (`clock_time_get` reads the host
// clock, `random_get` calls getrandom, `poll_oneoff` sleeps on tokio), so these preview1 imports
// are shadowed with pinned_wasi.rs's, as in the other in-process engines. wasix also always
// reports its virtual root as a preopened "/" on fd 3, with no builder option to drop it; the
// harness gives guests no preopens, and Go's syscall package enumerates them at start-up, so
// `fd_prestat_get`/`fd_prestat_dir_name` are shadowed too and answer EBADF like an engine with
// none. Every other WASI function is wasix's own.

/// Runs one of the pinned preview1 functions (pinned_wasi.rs) on the guest's memory.
fn with_pinned(
    env: &mut FunctionEnvMut<HostState>,
    f: impl FnOnce(&mut PinnedWasi, &mut [u8]) -> i32,
) -> i32 {
    let Some(memory) = env.data().memory.clone() else {
        return ERRNO_FAULT;
    };
    let (state, mut store) = env.data_and_store_mut();
    f(&mut state.pinned, memory_slice(&memory, &mut store))
}

fn random_get(mut env: FunctionEnvMut<HostState>, buf: i32, len: i32) -> i32 {
    with_pinned(&mut env, |w, mem| w.random_get(mem, buf as u32, len as u32))
}

fn clock_time_get(mut env: FunctionEnvMut<HostState>, id: i32, _precision: i64, out: i32) -> i32 {
    with_pinned(&mut env, |w, mem| {
        w.clock_time_get(mem, id as u32, out as u32)
    })
}

fn poll_oneoff(
    mut env: FunctionEnvMut<HostState>,
    input: i32,
    output: i32,
    n: i32,
    nevents: i32,
) -> i32 {
    with_pinned(&mut env, |w, mem| {
        w.poll_oneoff(mem, input as u32, output as u32, n as u32, nevents as u32)
    })
}

/// preview1 `fd_prestat_get(fd, *prestat) -> errno`: there are no preopens.
fn fd_prestat_get(_env: FunctionEnvMut<HostState>, _fd: i32, _buf: i32) -> i32 {
    ERRNO_BADF
}

/// preview1 `fd_prestat_dir_name(fd, *path, path_len) -> errno`: there are no preopens.
fn fd_prestat_dir_name(
    _env: FunctionEnvMut<HostState>,
    _fd: i32,
    _path: i32,
    _path_len: i32,
) -> i32 {
    ERRNO_BADF
}

struct Loaded(Arc<Compiled>);

impl LoadedModule for Loaded {
    fn instantiate(&self, budget: Budget) -> Result<Box<dyn Instance>> {
        let c = &self.0;
        let (stdout, stderr) = (Capture::default(), Capture::default());
        let mut builder = WasiEnv::builder(pinned::ARGV[0])
            .envs(pinned::ENV.iter().copied())
            .stdin(Box::new(NullFile::default()))
            .stdout(Box::new(capture_file(&stdout)))
            .stderr(Box::new(capture_file(&stderr)))
            .runtime(c.runtime.clone());
        // The builder starts argv with the program name it was given and `args` appends to it;
        // Go's heap layout depends on argv, so argv is replaced whole with exactly ARGV.
        *builder.get_args_mut() = pinned::ARGV.iter().map(|a| a.to_string()).collect();
        let wasi_env = builder
            .build()
            .map_err(|e| anyhow::anyhow!("wasmer: building the WASI environment: {e}"))?;

        let mut store = Store::new(c.engine.clone());
        let mut wasi = WasiFunctionEnv::new(&mut store, wasi_env);
        let mut imports = match wasi.import_object(&mut store, &c.module) {
            Ok(imports) => imports,
            // A guest without WASI imports still gets the `harness` module.
            Err(WasiError::UnknownWasiVersion) => Imports::new(),
            Err(e) => anyhow::bail!("wasmer: WASI imports: {e}"),
        };
        let env = FunctionEnv::new(
            &mut store,
            HostState {
                calls: Vec::new(),
                instance: None,
                memory: None,
                pinned: PinnedWasi::new(),
            },
        );
        imports.define(
            WASI,
            "random_get",
            Function::new_typed_with_env(&mut store, &env, random_get),
        );
        imports.define(
            WASI,
            "clock_time_get",
            Function::new_typed_with_env(&mut store, &env, clock_time_get),
        );
        imports.define(
            WASI,
            "poll_oneoff",
            Function::new_typed_with_env(&mut store, &env, poll_oneoff),
        );
        imports.define(
            WASI,
            "fd_prestat_get",
            Function::new_typed_with_env(&mut store, &env, fd_prestat_get),
        );
        imports.define(
            WASI,
            "fd_prestat_dir_name",
            Function::new_typed_with_env(&mut store, &env, fd_prestat_dir_name),
        );
        define_harness(&mut store, &env, &mut imports);

        let instance = wasmer::Instance::new(&mut store, &c.module, &imports)
            .map_err(|e| anyhow::anyhow!("wasmer: instantiating: {e}"))?;
        // Points wasix at the instance's memory; it calls no export (not `_initialize`).
        wasi.initialize(&mut store, instance.clone())
            .map_err(|e| anyhow::anyhow!("wasmer: initialising WASI: {e}"))?;
        let memory = instance.exports.get_memory("memory").ok().cloned();
        let state = env.as_mut(&mut store);
        state.instance = Some(instance.clone());
        state.memory = memory;
        metering::set_remaining_points(&mut store, &instance, budget.fuel);
        Ok(Box::new(Live {
            store,
            instance,
            env,
            budget,
            stdout,
            stderr,
        }))
    }
}

/// A WASI stdout or stderr that appends every write to `capture`.
fn capture_file(capture: &Capture) -> DualWriteFile {
    let buf = capture.shared();
    DualWriteFile::new(Box::new(NullFile::default()), move |bytes| {
        Capture::push(&buf, bytes)
    })
}

struct Live {
    store: Store,
    instance: wasmer::Instance,
    env: FunctionEnv<HostState>,
    budget: Budget,
    stdout: Capture,
    stderr: Capture,
}

impl Instance for Live {
    fn call(&mut self, export: &str, args: &[Value]) -> Outcome {
        let Ok(func) = self.instance.exports.get_function(export).cloned() else {
            return Outcome::Refused {
                message: format!("no exported function `{export}`"),
            };
        };
        // wasmer reports wrong arguments as an error without a trap code, like a trap of its
        // own; checking here keeps them refusals, as on the other engines.
        let given: Vec<ValType> = args.iter().map(Value::ty).collect();
        match signature(&self.store, &func) {
            Some((params, _)) if params == given => {}
            Some((params, _)) => {
                return Outcome::Refused {
                    message: format!("`{export}` takes {params:?}, was given {given:?}"),
                }
            }
            None => {
                return Outcome::Refused {
                    message: format!("`{export}` has a signature the trace cannot carry"),
                }
            }
        }
        metering::set_remaining_points(&mut self.store, &self.instance, self.budget.fuel);
        match invoke(&mut self.store, &func, args) {
            Ok(values) => Outcome::Returned { values },
            Err(e) => {
                let exhausted = matches!(
                    metering::get_remaining_points(&mut self.store, &self.instance),
                    MeteringPoints::Exhausted
                );
                classify(e, exhausted)
            }
        }
    }
    fn memory(&mut self) -> Result<&mut [u8], String> {
        let memory = self
            .instance
            .exports
            .get_memory("memory")
            .map_err(|_| NO_MEMORY)?
            .clone();
        Ok(memory_slice(&memory, &mut self.store))
    }
    fn take_host_calls(&mut self) -> Vec<HostCall> {
        std::mem::take(&mut self.env.as_mut(&mut self.store).calls)
    }
    fn take_output(&mut self) -> (Vec<u8>, Vec<u8>) {
        (self.stdout.take_new(), self.stderr.take_new())
    }
}

/// Maps a wasmer error to the trace's outcome: exits, traps by code, host faults. `exhausted` is
/// the metering middleware's flag: running out of points is an `unreachable` it plants itself.
fn classify(e: RuntimeError, exhausted: bool) -> Outcome {
    // wasix's proc_exit raises WasiError::Exit as a host error. Its ExitCode keeps the code
    // modulo 256, which the codes Go guests use (0..=125) survive unchanged.
    if let Some(WasiError::Exit(code)) = e.downcast_ref::<WasiError>() {
        return Outcome::Exit { code: code.raw() };
    }
    let message = e.to_string();
    let kind = if e.downcast_ref::<HostFault>().is_some() {
        TrapKind::HostError
    } else if let Some(code) = e.clone().to_trap() {
        match code {
            TrapCode::UnreachableCodeReached if exhausted => TrapKind::Timeout,
            TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
            TrapCode::HostInterrupt => TrapKind::Timeout,
            TrapCode::HeapAccessOutOfBounds | TrapCode::HeapMisaligned => {
                TrapKind::MemoryOutOfBounds
            }
            TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivideByZero,
            TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
            TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
            TrapCode::BadSignature => TrapKind::IndirectCallTypeMismatch,
            TrapCode::IndirectCallToNull => TrapKind::IndirectCallNull,
            TrapCode::TableAccessOutOfBounds => TrapKind::TableOutOfBounds,
            TrapCode::StackOverflow => TrapKind::StackOverflow,
            _ => TrapKind::Other,
        }
    } else {
        // Arguments were checked before the call, so anything else ended a running guest: one
        // of wasix's own host errors (a thread exit, a failed symbol lookup).
        TrapKind::Other
    };
    Outcome::Trap { kind, message }
}
