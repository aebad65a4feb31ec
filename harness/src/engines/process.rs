//! Out-of-process engines: a host program (wazero in Go, V8 in Node) started by the harness and
//! kept alive for the run, speaking harness/hosts/PROTOCOL.md over stdin/stdout. Every import call
//! is forwarded back here and served by the one `hostabi` definition. Every read has a deadline; a
//! host that crashes, hangs or prints garbage is recorded as that engine's `engine_crash` (or
//! `timeout`), killed, reaped, and replaced by a fresh process for the next instance.

use crate::engine::{Engine, Instance, LoadedModule};
use crate::hostabi::{self, HostContext};
use crate::pinned::{self, Budget, PinnedRandom};
use crate::trace::{HostCall, Outcome, TrapKind, ValType, Value};
use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How an out-of-process engine is started. Implemented once per host program.
pub trait Launcher: Send + Sync {
    /// Prepares the host (builds it if needed) and returns the command that starts one process,
    /// or why this engine cannot run here.
    fn command(&self) -> Result<Command, String>;
}

/// How long a host may take to print its ready line.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long loading and instantiating may take.
const SETUP_LIMIT: Duration = Duration::from_secs(120);
/// Slack past a call's own budget before the harness gives up on the host: a host that can
/// interrupt (wazero) reports its own timeout within the budget; one that cannot (Node) is killed.
const CALL_GRACE: Duration = Duration::from_secs(3);
/// Lines of a host's stderr kept for crash reports.
const STDERR_TAIL: usize = 20;

pub struct ProcessEngine {
    name: &'static str,
    implementation: &'static str,
    shared: Arc<Shared>,
}

/// What the engine, its modules and its instances share: how to start a host, and the pool.
struct Shared {
    name: &'static str,
    launcher: Box<dyn Launcher>,
    /// Idle, healthy host processes.
    pool: Mutex<Vec<HostProcess>>,
    /// The runtime version from the first ready line, or why no host could start.
    probe: OnceLock<Result<String, String>>,
}

impl ProcessEngine {
    pub fn new(
        name: &'static str,
        implementation: &'static str,
        launcher: Box<dyn Launcher>,
    ) -> Self {
        let shared = Shared {
            name,
            launcher,
            pool: Mutex::new(Vec::new()),
            probe: OnceLock::new(),
        };
        ProcessEngine {
            name,
            implementation,
            shared: Arc::new(shared),
        }
    }
}

impl Shared {
    fn probe(&self) -> &Result<String, String> {
        self.probe.get_or_init(|| {
            let process = self.spawn().map_err(|e| format!("{e:#}"))?;
            let version = process.version.clone();
            self.pool.lock().unwrap().push(process);
            Ok(version)
        })
    }

    fn spawn(&self) -> Result<HostProcess> {
        let command = self.launcher.command().map_err(|e| anyhow!(e))?;
        HostProcess::start(self.name, command)
    }

    fn take_process(&self) -> Result<HostProcess> {
        if let Some(p) = self.pool.lock().unwrap().pop() {
            return Ok(p);
        }
        self.spawn()
    }
}

impl Engine for ProcessEngine {
    fn name(&self) -> &'static str {
        self.name
    }
    fn implementation(&self) -> &'static str {
        self.implementation
    }
    fn version(&self) -> String {
        match self.shared.probe() {
            Ok(v) => v.clone(),
            Err(_) => "-".into(),
        }
    }
    fn availability(&self) -> Result<(), String> {
        self.shared
            .probe()
            .as_ref()
            .map(|_| ())
            .map_err(Clone::clone)
    }
    fn load(&self, wasm: &[u8]) -> Result<Arc<dyn LoadedModule>> {
        self.load_with(wasm, false)
    }
    fn load_transient(&self, wasm: &[u8]) -> Result<Arc<dyn LoadedModule>> {
        self.load_with(wasm, true)
    }
}

impl ProcessEngine {
    fn load_with(&self, wasm: &[u8], transient: bool) -> Result<Arc<dyn LoadedModule>> {
        if let Err(e) = self.shared.probe() {
            bail!("{} is unavailable: {e}", self.name);
        }
        // Hosts load modules from files; the digest names both the file and the module.
        let key = hex::encode(&Sha256::digest(wasm)[..16]);
        let path = crate::paths::cache_dir()
            .join("modules")
            .join(format!("{key}.wasm"));
        if !path.is_file() {
            crate::paths::write_atomically(&path, wasm)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        let module = ProcessModule {
            shared: self.shared.clone(),
            key,
            path,
            transient,
        };
        // Compile now, in one host, so that compile time is counted as compile time; other hosts
        // of the pool load the module when they first instantiate it.
        let mut process = self.shared.take_process()?;
        module.ensure_loaded(&mut process, Instant::now() + SETUP_LIMIT)?;
        self.shared.pool.lock().unwrap().push(process);
        Ok(Arc::new(module))
    }
}

impl ProcessModule {
    fn ensure_loaded(&self, process: &mut HostProcess, deadline: Instant) -> Result<()> {
        if !process.loaded.contains(&self.key) {
            process
                .request(
                    &json!({"op":"load","module":self.key,"path":self.path,"transient":self.transient}),
                    deadline,
                )
                .with_context(|| format!("{}: load", self.shared.name))?;
            if self.transient {
                // The host dropped its previous transient module.
                if let Some(old) = process.transient.replace(self.key.clone()) {
                    process.loaded.remove(&old);
                }
            }
            process.loaded.insert(self.key.clone());
        }
        Ok(())
    }
}

struct ProcessModule {
    shared: Arc<Shared>,
    key: String,
    path: PathBuf,
    /// Loaded for one use (fuzzing): hosts keep one such module at a time.
    transient: bool,
}

impl LoadedModule for ProcessModule {
    fn instantiate(&self, budget: Budget) -> Result<Box<dyn Instance>> {
        let mut process = self.shared.take_process()?;
        let deadline = Instant::now() + SETUP_LIMIT;
        self.ensure_loaded(&mut process, deadline)?;
        let env: Vec<[&str; 2]> = pinned::ENV.iter().map(|(k, v)| [*k, *v]).collect();
        let request = json!({
            "op": "instantiate",
            "module": self.key,
            "argv": pinned::ARGV,
            "env": env,
            "seed": PinnedRandom::SEED.to_string(),
            "wall_epoch_ns": (pinned::WALL_CLOCK_EPOCH.as_nanos() as u64).to_string(),
        });
        process
            .request(&request, deadline)
            .with_context(|| format!("{}: instantiate", self.shared.name))?;
        Ok(Box::new(ProcessInstance {
            process: Some(process),
            shared: self.shared.clone(),
            budget,
            calls: Vec::new(),
            lost: None,
        }))
    }
}

/// One running host program.
struct HostProcess {
    engine: &'static str,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    version: String,
    loaded: HashSet<String>,
    /// The key of the one transient module this host holds.
    transient: Option<String>,
}

/// Why a host process can no longer be used.
#[derive(Debug, Clone)]
struct Lost {
    kind: TrapKind,
    message: String,
}

impl Lost {
    /// The loss as an error message: a crashed host is marked, so that the run can tell an
    /// engine crash from a module or request the engine refused, wherever the message ends up
    /// (a setup error, a memory step, the memory digest: [`crate::trace::Trace::engine_crash`]).
    fn describe(&self) -> String {
        match self.kind {
            TrapKind::EngineCrash => format!("{}: {}", crate::trace::ENGINE_CRASH, self.message),
            _ => self.message.clone(),
        }
    }

    fn into_error(self) -> anyhow::Error {
        anyhow!(self.describe())
    }
}

impl HostProcess {
    fn start(engine: &'static str, mut command: Command) -> Result<HostProcess> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("{engine}: starting the host {command:?}"))?;
        let (stdin, stdout, stderr) = (
            child.stdin.take().expect("piped"),
            child.stdout.take().expect("piped"),
            child.stderr.take().expect("piped"),
        );
        // Reader threads turn blocking pipes into channels that can be read with a deadline.
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail_writer = tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut t = tail_writer.lock().unwrap();
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        });
        let mut process = HostProcess {
            engine,
            child,
            stdin,
            lines,
            stderr: tail,
            version: String::new(),
            loaded: HashSet::new(),
            transient: None,
        };
        let ready = process
            .read(Instant::now() + START_LIMIT)
            .map_err(|l| anyhow!("{engine}: {}", l.message))?;
        if ready.get("ready") != Some(&Json::Bool(true)) {
            process.kill();
            bail!("{engine}: the host's first line is not a ready line: {ready}");
        }
        process.version = ready
            .get("version")
            .and_then(Json::as_str)
            .unwrap_or("?")
            .to_string();
        Ok(process)
    }

    fn send(&mut self, message: &Json) -> Result<(), Lost> {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|_| self.stdin.flush())
            .map_err(|e| self.lost(TrapKind::EngineCrash, format!("writing to the host: {e}")))
    }

    /// Reads one line as JSON, by the deadline.
    fn read(&mut self, deadline: Instant) -> Result<Json, Lost> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(wait) {
            Ok(line) => serde_json::from_str(&line).map_err(|_| {
                let shown: String = line.chars().take(200).collect();
                self.lost(
                    TrapKind::EngineCrash,
                    format!("the host printed garbage: {shown:?}"),
                )
            }),
            Err(RecvTimeoutError::Timeout) => Err(self.lost(
                TrapKind::Timeout,
                "the host did not answer by the deadline; killed".into(),
            )),
            Err(RecvTimeoutError::Disconnected) => {
                // Give the stderr reader a moment to collect the last words.
                std::thread::sleep(Duration::from_millis(50));
                let status = match self.child.try_wait() {
                    Ok(Some(s)) => s.to_string(),
                    _ => "its stdout closed; killed".to_string(),
                };
                Err(self.lost(
                    TrapKind::EngineCrash,
                    format!("the host process died ({status})"),
                ))
            }
        }
    }

    /// A request that expects `{"ok":...}` or a plain reply, with no import events.
    fn request(&mut self, message: &Json, deadline: Instant) -> Result<Json> {
        self.send(message).map_err(Lost::into_error)?;
        let reply = self.read(deadline).map_err(Lost::into_error)?;
        if let Some(e) = reply.get("error") {
            bail!("{}", e.as_str().unwrap_or(&e.to_string()));
        }
        Ok(reply)
    }

    /// Records why the process is unusable, with the tail of its stderr, and kills it.
    fn lost(&mut self, kind: TrapKind, message: String) -> Lost {
        let tail: Vec<String> = self.stderr.lock().unwrap().iter().cloned().collect();
        self.kill();
        let message = if tail.is_empty() {
            format!("{}: {message}", self.engine)
        } else {
            format!(
                "{}: {message}; its stderr ends:\n{}",
                self.engine,
                tail.join("\n")
            )
        };
        Lost { kind, message }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        // Ask politely, then make sure: no host outlives the harness, none is left a zombie.
        let _ = self.stdin.write_all(b"{\"op\":\"exit\"}\n");
        let _ = self.stdin.flush();
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
    }
}

struct ProcessInstance {
    process: Option<HostProcess>,
    shared: Arc<Shared>,
    budget: Budget,
    calls: Vec<HostCall>,
    /// Set once the host was lost; every later request answers with it.
    lost: Option<Lost>,
}

impl Drop for ProcessInstance {
    fn drop(&mut self) {
        // A healthy host goes back to the pool for the next instance.
        if let Some(p) = self.process.take() {
            self.shared.pool.lock().unwrap().push(p);
        }
    }
}

/// An import failure travelling back to the host: the kind (or exit code) the outer call must
/// end with.
struct Failure {
    kind: String,
    code: Option<i32>,
    message: String,
}

fn parse_values(v: Option<&Json>) -> Result<Vec<Value>, String> {
    let list = v.and_then(Json::as_array).ok_or("missing `values`")?;
    list.iter()
        .map(|x| {
            x.as_str()
                .ok_or("a value is not a string")
                .and_then(|s| Value::parse(s).map_err(|_| "bad value"))
        })
        .map(|r| r.map_err(String::from))
        .collect()
}

fn outcome_of(reply: &Json) -> Result<Outcome, String> {
    let text = |k: &str| {
        reply
            .get(k)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    match reply.get("outcome").and_then(Json::as_str) {
        Some("returned") => Ok(Outcome::Returned {
            values: parse_values(reply.get("values"))?,
        }),
        Some("trap") => Ok(Outcome::Trap {
            kind: TrapKind::parse(&text("kind")).map_err(|e| format!("{e} in {reply}"))?,
            message: text("message"),
        }),
        Some("exit") => Ok(Outcome::Exit {
            code: reply
                .get("code")
                .and_then(Json::as_i64)
                .ok_or_else(|| format!("exit without a code: {reply}"))? as i32,
        }),
        Some("refused") => Ok(Outcome::Refused {
            message: text("message"),
        }),
        _ => Err(format!("not an outcome: {reply}")),
    }
}

impl ProcessInstance {
    /// Sends a call and serves import events until its outcome arrives. Used for top-level and
    /// nested calls alike.
    fn call_by(&mut self, export: &str, args: &[Value], deadline: Instant) -> Outcome {
        if let Some(l) = &self.lost {
            return Outcome::Trap {
                kind: l.kind,
                message: l.message.clone(),
            };
        }
        let args: Vec<String> = args.iter().map(Value::to_string).collect();
        let timeout_ms = self.budget.wall.as_millis() as u64;
        let request = json!({"op":"call","export":export,"args":args,"timeout_ms":timeout_ms});
        match self.exchange(&request, deadline) {
            Ok(reply) => match outcome_of(&reply) {
                Ok(o) => o,
                Err(e) => self.lose(
                    TrapKind::EngineCrash,
                    format!("the host answered a call with {e}"),
                ),
            },
            Err(l) => self.forget(l),
        }
    }

    /// Sends a request and reads its reply, serving any import events that come first.
    fn exchange(&mut self, request: &Json, deadline: Instant) -> Result<Json, Lost> {
        let process = self.process.as_mut().expect("live while not lost");
        process.send(request)?;
        loop {
            let process = self.process.as_mut().expect("live while not lost");
            let message = process.read(deadline)?;
            let Some(name) = message.get("import").and_then(Json::as_str) else {
                return Ok(message);
            };
            let Some(import) = hostabi::IMPORTS.iter().find(|i| i.name == name) else {
                let m = format!("the host forwarded an unknown import `{name}`");
                return Err(process.lost(TrapKind::EngineCrash, m));
            };
            let args = match parse_values(message.get("args")) {
                Ok(a) if a.iter().map(Value::ty).eq(import.params.iter().copied()) => a,
                _ => {
                    let m = format!("the host forwarded `{name}` with bad arguments: {message}");
                    return Err(process.lost(TrapKind::EngineCrash, m));
                }
            };
            let answer = match hostabi::dispatch(
                &mut Rpc {
                    instance: self,
                    deadline,
                },
                import,
                &args,
            ) {
                Ok(values) => {
                    let values: Vec<String> = values.iter().map(Value::to_string).collect();
                    json!({"op":"return","values":values})
                }
                Err(f) => json!({"op":"fail","kind":f.kind,"code":f.code,"message":f.message}),
            };
            if let Some(l) = &self.lost {
                return Err(l.clone());
            }
            self.process
                .as_mut()
                .expect("live while not lost")
                .send(&answer)?;
        }
    }

    fn lose(&mut self, kind: TrapKind, message: String) -> Outcome {
        let lost = match self.process.as_mut() {
            Some(p) => p.lost(kind, message),
            None => Lost { kind, message },
        };
        self.forget(lost)
    }

    /// The process is gone: drop it (never back to the pool) and answer every later request
    /// with the same loss.
    fn forget(&mut self, lost: Lost) -> Outcome {
        self.process = None;
        self.lost = Some(lost.clone());
        Outcome::Trap {
            kind: lost.kind,
            message: lost.message,
        }
    }

    fn simple(&mut self, request: Json) -> Result<Json, String> {
        if let Some(l) = &self.lost {
            return Err(l.describe());
        }
        let deadline = Instant::now() + SETUP_LIMIT;
        match self.exchange(&request, deadline) {
            Ok(reply) => match reply.get("error") {
                Some(e) => Err(e.as_str().unwrap_or("error").to_string()),
                None => Ok(reply),
            },
            Err(l) => {
                let message = l.describe();
                self.forget(l);
                Err(message)
            }
        }
    }
}

fn hex_field(reply: &Json, key: &str) -> Result<Vec<u8>, String> {
    let text = reply
        .get(key)
        .and_then(Json::as_str)
        .ok_or_else(|| format!("reply lacks `{key}`"))?;
    hex::decode(text).map_err(|e| format!("`{key}` is not hex: {e}"))
}

impl Instance for ProcessInstance {
    fn call(&mut self, export: &str, args: &[Value]) -> Outcome {
        let deadline = Instant::now() + self.budget.wall + CALL_GRACE;
        self.call_by(export, args, deadline)
    }
    fn memory(&mut self) -> Result<&mut [u8], String> {
        Err(
            "an out-of-process engine's memory is reached through read_memory and write_memory"
                .into(),
        )
    }
    fn read_memory(&mut self, addr: u32, len: u32) -> Result<Vec<u8>, String> {
        let reply = self.simple(json!({"op":"read_memory","addr":addr,"len":len}))?;
        hex_field(&reply, "bytes")
    }
    fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> Result<(), String> {
        self.simple(json!({"op":"write_memory","addr":addr,"bytes":hex::encode(bytes)}))
            .map(|_| ())
    }
    fn memory_digest(&mut self) -> Result<crate::trace::Memory, String> {
        let reply = self.simple(json!({"op":"memory_digest"}))?;
        let size = reply.get("size").and_then(serde_json::Value::as_u64);
        let sha256 = reply.get("sha256").and_then(serde_json::Value::as_str);
        match (size, sha256) {
            (Some(size), Some(sha256)) if sha256.len() == 64 => Ok(crate::trace::Memory::Digest {
                size,
                sha256: sha256.to_string(),
            }),
            _ => Err(format!(
                "memory_digest: no \"size\" and \"sha256\" in {reply}"
            )),
        }
    }
    fn take_host_calls(&mut self) -> Vec<HostCall> {
        std::mem::take(&mut self.calls)
    }
    fn take_output(&mut self) -> (Vec<u8>, Vec<u8>) {
        match self.simple(json!({"op":"output"})) {
            Ok(reply) => (
                hex_field(&reply, "stdout").unwrap_or_default(),
                hex_field(&reply, "stderr").unwrap_or_default(),
            ),
            // Output lost with the process: the outcome already says why.
            Err(_) => (vec![], vec![]),
        }
    }
}

/// The host-import module's view of an out-of-process instance: memory and exports over RPC.
struct Rpc<'a> {
    instance: &'a mut ProcessInstance,
    deadline: Instant,
}

impl HostContext for Rpc<'_> {
    type Error = Failure;
    fn host_error(&mut self, message: String) -> Failure {
        Failure {
            kind: "host_error".into(),
            code: None,
            message,
        }
    }
    fn memory(&mut self) -> Result<&mut [u8], Failure> {
        Err(self.host_error("out-of-process memory is reached by RPC".into()))
    }
    fn read_memory(&mut self, addr: u32, len: u32) -> Result<Vec<u8>, Failure> {
        self.instance
            .read_memory(addr, len)
            .map_err(|m| self.host_error(m))
    }
    fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> Result<(), Failure> {
        self.instance
            .write_memory(addr, bytes)
            .map_err(|m| self.host_error(m))
    }
    fn export_signature(&mut self, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)> {
        let reply = self
            .instance
            .simple(json!({"op":"signature","export":name}))
            .ok()?;
        let types = |k: &str| -> Option<Vec<ValType>> {
            reply
                .get(k)?
                .as_array()?
                .iter()
                .map(|t| serde_json::from_value(t.clone()).ok())
                .collect()
        };
        Some((types("params")?, types("results")?))
    }
    fn call_export(&mut self, name: &str, args: &[Value]) -> Result<Vec<Value>, Failure> {
        match self.instance.call_by(name, args, self.deadline) {
            Outcome::Returned { values } => Ok(values),
            Outcome::Trap { kind, message } => Err(Failure {
                kind: kind.name(),
                code: None,
                message,
            }),
            Outcome::Exit { code } => Err(Failure {
                kind: "exit".into(),
                code: Some(code),
                message: String::new(),
            }),
            Outcome::Refused { message } => Err(self.host_error(message)),
            other => Err(self.host_error(format!("unexpected nested outcome {other:?}"))),
        }
    }
    fn host_calls(&mut self) -> &mut Vec<HostCall> {
        &mut self.instance.calls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host written in shell that follows the protocol up to a point, then misbehaves.
    struct Script(&'static str);
    impl Launcher for Script {
        fn command(&self) -> Result<Command, String> {
            let mut c = Command::new("sh");
            c.arg("-c").arg(self.0);
            Ok(c)
        }
    }

    const PRELUDE: &str = r#"echo '{"ready":true,"engine":"fake","version":"0.1"}'; read l; echo '{"ok":true}'; read l; echo '{"ok":true}'; read l; "#;

    fn run_one(script: &'static str) -> (Outcome, Arc<Shared>) {
        let engine = ProcessEngine::new("fake", "a shell script", Box::new(Script(script)));
        assert_eq!(engine.version(), "0.1");
        let module = engine.load(b"\0asm\x01\0\0\0").unwrap();
        let budget = Budget {
            wall: Duration::from_millis(200),
            ..Budget::default()
        };
        let mut instance = module.instantiate(budget).unwrap();
        let outcome = instance.call("F", &[]);
        let shared = engine.shared.clone();
        drop(instance);
        (outcome, shared)
    }

    #[test]
    fn a_host_that_dies_mid_call_is_an_engine_crash_and_is_not_reused() {
        let (outcome, shared) = run_one(Box::leak(
            format!("{PRELUDE} echo 'about to die' >&2; exit 3").into_boxed_str(),
        ));
        match outcome {
            Outcome::Trap {
                kind: TrapKind::EngineCrash,
                message,
            } => {
                assert!(
                    message.contains("died") && message.contains("about to die"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(
            shared.pool.lock().unwrap().is_empty(),
            "a dead host went back to the pool"
        );
    }

    #[test]
    fn a_host_that_prints_garbage_is_an_engine_crash() {
        let (outcome, _) = run_one(Box::leak(
            format!("{PRELUDE} echo 'segfault!'; sleep 5").into_boxed_str(),
        ));
        assert!(
            matches!(outcome, Outcome::Trap { kind: TrapKind::EngineCrash, ref message } if message.contains("garbage")),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_host_that_hangs_is_killed_at_the_deadline_as_a_timeout() {
        let start = Instant::now();
        let (outcome, _) = run_one(Box::leak(format!("{PRELUDE} sleep 60").into_boxed_str()));
        assert!(
            matches!(
                outcome,
                Outcome::Trap {
                    kind: TrapKind::Timeout,
                    ..
                }
            ),
            "{outcome:?}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the deadline was not kept"
        );
    }

    #[test]
    fn a_healthy_host_goes_back_to_the_pool() {
        let (outcome, shared) =
            run_one(Box::leak(format!(r#"{PRELUDE} echo '{{"outcome":"returned","values":["i32:7"]}}'; read l; echo '{{"stdout":"","stderr":""}}'; sleep 5"#).into_boxed_str()));
        assert_eq!(
            outcome,
            Outcome::Returned {
                values: vec![Value::I32(7)]
            }
        );
        assert_eq!(shared.pool.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_missing_host_program_makes_the_engine_unavailable_with_the_reason() {
        struct Missing;
        impl Launcher for Missing {
            fn command(&self) -> Result<Command, String> {
                Err("node is not on PATH".into())
            }
        }
        let engine = ProcessEngine::new("fake", "nothing", Box::new(Missing));
        assert_eq!(engine.availability(), Err("node is not on PATH".into()));
        assert!(engine.load(b"").is_err());
    }
}
