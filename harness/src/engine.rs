//! The engine seam: one trait for a runtime, one for a live instance, the registry of every
//! engine this build knows, and the small pieces every adapter shares.

use crate::pinned::Budget;
use crate::trace::{HostCall, Outcome, Value};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// A WebAssembly runtime configuration the suite can run guests on.
pub trait Engine: Send + Sync {
    /// The name used on the command line, in test names and in `expectations/<name>.toml`.
    fn name(&self) -> &'static str;
    /// The implementation and execution strategy, for people.
    fn implementation(&self) -> &'static str;
    fn version(&self) -> String;
    /// `Err(reason)` when this engine cannot run here; the reason is shown to the user.
    fn availability(&self) -> Result<(), String> {
        Ok(())
    }
    /// Compiles (or fetches from the engine's cache) a module for instantiation.
    fn load(&self, wasm: &[u8]) -> anyhow::Result<Arc<dyn LoadedModule>>;
    /// Compiles a module for one use: nothing is memoised or cached on disk. Fuzzing loads
    /// thousands of modules; keeping them all would exhaust memory and disk.
    fn load_transient(&self, wasm: &[u8]) -> anyhow::Result<Arc<dyn LoadedModule>> {
        self.load(wasm)
    }
}

/// An engine whose every load is [`Engine::load_transient`], for code that only calls `load`.
pub struct Transient(pub Arc<dyn Engine>);

impl Engine for Transient {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn implementation(&self) -> &'static str {
        self.0.implementation()
    }
    fn version(&self) -> String {
        self.0.version()
    }
    fn availability(&self) -> Result<(), String> {
        self.0.availability()
    }
    fn load(&self, wasm: &[u8]) -> anyhow::Result<Arc<dyn LoadedModule>> {
        self.0.load_transient(wasm)
    }
}

/// A compiled module, ready to be instantiated any number of times.
pub trait LoadedModule: Send + Sync {
    /// A fresh instance with the pinned environment and the `harness` and WASI imports linked.
    /// No export is called, not even `_initialize`: that is the scenario's first step.
    fn instantiate(&self, budget: Budget) -> anyhow::Result<Box<dyn Instance>>;
}

/// A live instance of a guest.
pub trait Instance {
    fn call(&mut self, export: &str, args: &[Value]) -> Outcome;
    /// The guest's exported `memory`, as it is now.
    fn memory(&mut self) -> Result<&mut [u8], String>;
    fn read_memory(&mut self, addr: u32, len: u32) -> Result<Vec<u8>, String> {
        read_bytes(self.memory()?, addr, len)
    }
    fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> Result<(), String> {
        write_bytes(self.memory()?, addr, bytes)
    }
    /// The size and SHA-256 of the guest's whole exported `memory`, for the memory oracle.
    fn memory_digest(&mut self) -> Result<crate::trace::Memory, String> {
        self.memory().map(|m| crate::trace::Memory::of(m))
    }
    /// Host-import calls made since the last take.
    fn take_host_calls(&mut self) -> Vec<HostCall>;
    /// Bytes written to stdout and stderr since the last take.
    fn take_output(&mut self) -> (Vec<u8>, Vec<u8>);
}

/// Bounds-checked read of guest memory, with the error every engine reports the same way.
pub fn read_bytes(mem: &[u8], addr: u32, len: u32) -> Result<Vec<u8>, String> {
    let start = addr as usize;
    start
        .checked_add(len as usize)
        .and_then(|end| mem.get(start..end))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            format!(
                "read of {len} bytes at {addr} is out of bounds (memory is {} bytes)",
                mem.len()
            )
        })
}

/// Bounds-checked write of guest memory.
pub fn write_bytes(mem: &mut [u8], addr: u32, bytes: &[u8]) -> Result<(), String> {
    let (start, size) = (addr as usize, mem.len());
    let dst = start
        .checked_add(bytes.len())
        .and_then(|end| mem.get_mut(start..end))
        .ok_or_else(|| {
            format!(
                "write of {} bytes at {addr} is out of bounds (memory is {size} bytes)",
                bytes.len()
            )
        })?;
    dst.copy_from_slice(bytes);
    Ok(())
}

/// The message every adapter gives for a guest without exported memory.
pub const NO_MEMORY: &str = "the guest exports no `memory`";

/// The engines this build knows, in reference order: the first available engine that has no
/// known divergence for a case is the one the others are compared with.
pub fn registry() -> Vec<Arc<dyn Engine>> {
    use crate::engines::{node, wasmi, wasmtime, wazero};
    vec![
        Arc::new(wasmtime::Wasmtime::new(wasmtime::Strategy::Cranelift)),
        Arc::new(wasmtime::Wasmtime::new(wasmtime::Strategy::Winch)),
        Arc::new(wasmtime::Wasmtime::new(wasmtime::Strategy::Pulley)),
        Arc::new(wasmi::Wasmi::new()),
        Arc::new(wazero::compiler()),
        Arc::new(wazero::interpreter()),
        Arc::new(node::node()),
        #[cfg(feature = "wasmer")]
        Arc::new(crate::engines::wasmer::Wasmer::new()),
    ]
}

/// Looks engines up by name, with an error that lists the names that exist.
pub fn select(all: &[Arc<dyn Engine>], names: &[String]) -> anyhow::Result<Vec<Arc<dyn Engine>>> {
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|e| e.name() == n).cloned().ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(|e| e.name()).collect();
                anyhow::anyhow!("unknown engine `{n}`; this build has: {}", known.join(", "))
            })
        })
        .collect()
}

/// A process-wide memo of compiled modules, keyed by whatever identifies a compilation
/// (normally the module's digest). Every adapter uses it, so a guest is compiled once per run.
pub struct ModuleMemo<K, V> {
    map: Mutex<HashMap<K, Arc<V>>>,
}

impl<K: Eq + Hash + Clone, V> ModuleMemo<K, V> {
    pub fn new() -> Self {
        ModuleMemo {
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn get_or_try_insert(
        &self,
        key: &K,
        make: impl FnOnce() -> anyhow::Result<V>,
    ) -> anyhow::Result<Arc<V>> {
        if let Some(v) = self.map.lock().unwrap().get(key) {
            return Ok(v.clone());
        }
        // Compiling outside the lock lets two guests compile at once; a race compiles twice and
        // keeps the first, which is harmless.
        let made = Arc::new(make()?);
        Ok(self
            .map
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_insert(made)
            .clone())
    }
}

impl<K: Eq + Hash + Clone, V> Default for ModuleMemo<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// An in-memory stdout or stderr shared with a WASI implementation, read in per-step slices.
#[derive(Clone, Default)]
pub struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    seen: usize,
}

/// Output beyond this is dropped (and says so) instead of growing without bound.
pub const CAPTURE_LIMIT: usize = 1 << 20;

impl Capture {
    pub fn shared(&self) -> Arc<Mutex<Vec<u8>>> {
        self.buf.clone()
    }
    pub fn push(buf: &Mutex<Vec<u8>>, bytes: &[u8]) {
        let mut b = buf.lock().unwrap();
        let room = CAPTURE_LIMIT.saturating_sub(b.len());
        b.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
    /// What was written since the last call.
    pub fn take_new(&mut self) -> Vec<u8> {
        let b = self.buf.lock().unwrap();
        let new = b[self.seen.min(b.len())..].to_vec();
        self.seen = b.len();
        new
    }
}

/// Adapts a capture to `std::io::Write` for WASI implementations that take a writer.
pub struct CaptureWriter(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        Capture::push(&self.0, bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Test doubles for code that drives engines (the runner, the fuzz oracle).
#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::pinned::Budget;

    /// An engine whose instances answer every call with `answer(export)`: it may sleep (a hung
    /// engine), panic (an adapter bug) or return any outcome. Memory is one zeroed page.
    pub struct Scripted(pub fn(&str) -> Outcome);
    struct ScriptedModule(fn(&str) -> Outcome);
    struct ScriptedInstance(fn(&str) -> Outcome, Vec<u8>);

    impl Engine for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn implementation(&self) -> &'static str {
            "test double"
        }
        fn version(&self) -> String {
            "0".into()
        }
        fn load(&self, _wasm: &[u8]) -> anyhow::Result<Arc<dyn LoadedModule>> {
            Ok(Arc::new(ScriptedModule(self.0)))
        }
    }
    impl LoadedModule for ScriptedModule {
        fn instantiate(&self, _budget: Budget) -> anyhow::Result<Box<dyn Instance>> {
            Ok(Box::new(ScriptedInstance(self.0, vec![0; 65536])))
        }
    }
    impl Instance for ScriptedInstance {
        fn call(&mut self, export: &str, _args: &[Value]) -> Outcome {
            (self.0)(export)
        }
        fn memory(&mut self) -> Result<&mut [u8], String> {
            Ok(&mut self.1)
        }
        fn take_host_calls(&mut self) -> Vec<HostCall> {
            vec![]
        }
        fn take_output(&mut self) -> (Vec<u8>, Vec<u8>) {
            (vec![], vec![])
        }
    }
}
