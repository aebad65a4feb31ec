// The Node/V8 host program of reactor-harness: runs Go reactor guests under node:wasi and speaks
// the newline-delimited JSON protocol of harness/hosts/PROTOCOL.md on stdin/stdout.
//
//     node --no-warnings host.mjs --engine node
//
// Node 20 built-ins only. Everything is synchronous: stdin is read with fs.readSync through one
// line buffer, both by the main loop and by the `harness` imports while a guest call is on the
// stack (an import sends its event, then serves the harness's requests, including nested calls,
// until `return` or `fail`), so top-level and nested reads can never race.
//
// What is ours and what is Node's: WASI is node:wasi's own (uvwasi) except `random_get`,
// `clock_time_get`, `poll_oneoff` (virtual time) and `proc_exit`, which pin the environment as
// harness/src/pinned.rs and pinned_wasi.rs do. `_initialize` goes through `wasi.initialize(instance)`, so Node's own
// checks (ERR_WASI_ALREADY_STARTED, ERR_WASI_NOT_STARTED before it) are part of what is observed.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { WASI } from 'node:wasi';

// ---------------------------------------------------------------------------------------------
// Diagnostics: stdout carries protocol lines only.

function diag(...parts) {
  try {
    fs.writeSync(2, util.format(...parts) + '\n');
  } catch {
    // stderr gone: nothing sensible left to do with a diagnostic
  }
}
for (const k of ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir']) console[k] = diag;

// ---------------------------------------------------------------------------------------------
// Command line.

const ENGINES = new Set(['node']);

function engineFromArgs(argv) {
  let engine = 'node';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--engine' && i + 1 < argv.length) engine = argv[++i];
    else if (a.startsWith('--engine=')) engine = a.slice('--engine='.length);
    else {
      diag(`host.mjs: unknown argument ${JSON.stringify(a)}; usage: node host.mjs --engine node`);
      process.exit(2);
    }
  }
  if (!ENGINES.has(engine)) {
    diag(`host.mjs: unknown engine ${JSON.stringify(engine)}; this host runs: ${[...ENGINES].join(', ')}`);
    process.exit(2);
  }
  return engine;
}

// ---------------------------------------------------------------------------------------------
// Synchronous line I/O on fds 0 and 1.

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
/** Blocks for `ms` milliseconds, for a non-blocking fd that has nothing yet (no busy loop). */
function pause(ms = 1) {
  Atomics.wait(SLEEPER, 0, 0, ms);
}
const retryable = (e) => e && (e.code === 'EAGAIN' || e.code === 'EWOULDBLOCK' || e.code === 'EINTR');

function shutdown(code) {
  if (current) discardInstance(current);
  process.exit(code);
}

function writeLine(message) {
  const buf = Buffer.from(JSON.stringify(message) + '\n', 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off, buf.length - off);
    } catch (e) {
      if (retryable(e)) {
        pause();
        continue;
      }
      if (e && e.code === 'EPIPE') shutdown(0); // the harness went away
      throw e;
    }
  }
}

const CHUNK = Buffer.alloc(64 * 1024);
let pending = Buffer.alloc(0);
let stdinEnded = false;
let idle = 0;

/** The next line from stdin (without its newline), or null at end of input. */
function readLine() {
  for (;;) {
    const nl = pending.indexOf(10);
    if (nl >= 0) {
      const line = pending.subarray(0, nl).toString('utf8');
      pending = pending.subarray(nl + 1);
      return line;
    }
    if (stdinEnded) {
      if (pending.length === 0) return null;
      const line = pending.toString('utf8');
      pending = Buffer.alloc(0);
      return line;
    }
    let n;
    try {
      n = fs.readSync(0, CHUNK, 0, CHUNK.length, null);
      idle = 0;
    } catch (e) {
      if (retryable(e)) {
        // stdin is a non-blocking pipe (someone set O_NONBLOCK on it): wait, backing off to
        // 10 ms while it stays empty
        idle = Math.min(idle + 1, 10);
        pause(idle);
        continue;
      }
      if (e && e.code === 'EOF') n = 0;
      else throw e;
    }
    if (n === 0) stdinEnded = true;
    else pending = Buffer.concat([pending, CHUNK.subarray(0, n)]);
  }
}

/**
 * The next request object. Exits 0 at end of input; a malformed line is answered with an error
 * and yields undefined.
 */
function nextRequest() {
  const line = readLine();
  if (line === null) shutdown(0);
  if (line.trim() === '') return undefined;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    writeLine({ error: `malformed request (not JSON): ${e.message}` });
    return undefined;
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req) || typeof req.op !== 'string') {
    writeLine({ error: 'malformed request: expected an object with a string "op"' });
    return undefined;
  }
  return req;
}

// ---------------------------------------------------------------------------------------------
// Values in the harness's canonical form.

const scratch = new DataView(new ArrayBuffer(8));
const TWO32 = 1n << 32n;
const TWO64 = 1n << 64n;

class BadRequest extends Error {}

/** A canonical value string to the JS value V8 expects for it. */
function parseValue(s) {
  if (typeof s !== 'string') throw new BadRequest(`a value is not a string: ${JSON.stringify(s)}`);
  const m = /^(i32|i64|f32|f64):(.*)$/s.exec(s);
  if (!m) throw new BadRequest(`not a canonical value: ${JSON.stringify(s)}`);
  const [, ty, rest] = m;
  switch (ty) {
    case 'i32':
    case 'i64': {
      if (!/^-?[0-9]+$/.test(rest)) throw new BadRequest(`not an integer: ${JSON.stringify(s)}`);
      const n = BigInt(rest);
      const bits = ty === 'i32' ? 32 : 64;
      const limit = ty === 'i32' ? TWO32 : TWO64;
      if (n < -(limit >> 1n) || n >= limit) throw new BadRequest(`out of range: ${JSON.stringify(s)}`);
      return ty === 'i32' ? { ty, js: Number(BigInt.asIntN(bits, n)) } : { ty, js: BigInt.asIntN(bits, n) };
    }
    case 'f32': {
      const b = /^bits:0x([0-9a-fA-F]{1,8})$/.exec(rest);
      if (!b) throw new BadRequest(`f32 values travel as bits:0x........: ${JSON.stringify(s)}`);
      scratch.setUint32(0, parseInt(b[1], 16), true);
      return { ty, js: scratch.getFloat32(0, true) };
    }
    case 'f64': {
      const b = /^bits:0x([0-9a-fA-F]{1,16})$/.exec(rest);
      if (!b) throw new BadRequest(`f64 values travel as bits:0x................: ${JSON.stringify(s)}`);
      scratch.setBigUint64(0, BigInt('0x' + b[1]), true);
      return { ty, js: scratch.getFloat64(0, true) };
    }
  }
  throw new BadRequest(`unknown value type in ${JSON.stringify(s)}`);
}

/** A JS value that crossed the wasm boundary as type `ty`, in canonical form. */
function renderValue(ty, v) {
  switch (ty) {
    case 'i32':
      return `i32:${typeof v === 'bigint' ? BigInt.asIntN(32, v) : v | 0}`;
    case 'i64':
      return `i64:${BigInt.asIntN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)) || 0))}`;
    case 'f32':
      scratch.setFloat32(0, Number(v), true);
      return `f32:bits:0x${scratch.getUint32(0, true).toString(16).padStart(8, '0')}`;
    case 'f64':
      scratch.setFloat64(0, Number(v), true);
      return `f64:bits:0x${scratch.getBigUint64(0, true).toString(16).padStart(16, '0')}`;
  }
  throw new Error(`cannot render a value of type ${ty}`);
}

// ---------------------------------------------------------------------------------------------
// Function types from the module bytes. V8 in Node 20 has no type reflection for exported
// functions, so the type (1), import (2), function (3) and export (7) sections are read here.

const VALTYPES = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const NUMERIC = new Set(['i32', 'i64', 'f32', 'f64']);

function parseModuleTypes(bytes) {
  let p = 8; // magic and version; V8 has already validated the module
  let end = bytes.length;
  const byte = () => {
    if (p >= end) throw new Error('unexpected end of section');
    return bytes[p++];
  };
  const leb = () => {
    // unsigned LEB128; up to 64-bit values, exact up to 2^53 (only skipped when larger)
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = byte();
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (!(b & 0x80)) return result;
    }
  };
  const name = () => {
    const n = leb();
    if (p + n > end) throw new Error('name runs past its section');
    const s = new TextDecoder('utf-8').decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const valtype = () => {
    const b = byte();
    if (b === 0x63 || b === 0x64) {
      leb(); // (ref null? ht): a heap type index or abstract heap type, as s33; value irrelevant here
      return 'ref';
    }
    return VALTYPES[b] ?? `0x${b.toString(16)}`;
  };
  const limits = () => {
    const flags = byte();
    leb();
    if (flags & 1) leb();
  };

  const types = [];
  const funcTypes = []; // type index per function index: imported functions first
  const imports = [];
  const exports = new Map(); // name -> function index
  while (p < bytes.length) {
    end = bytes.length;
    const id = byte();
    const size = leb();
    const start = p;
    end = start + size;
    if (end > bytes.length) throw new Error(`section ${id} runs past the end of the module`);
    switch (id) {
      case 1:
        for (let i = leb(); i > 0; i--) {
          const form = byte();
          if (form !== 0x60) throw new Error(`type form 0x${form.toString(16)} is not a plain function type`);
          const params = [];
          for (let n = leb(); n > 0; n--) params.push(valtype());
          const results = [];
          for (let n = leb(); n > 0; n--) results.push(valtype());
          types.push({ params, results });
        }
        break;
      case 2:
        for (let i = leb(); i > 0; i--) {
          const module = name();
          const field = name();
          const kind = byte();
          if (kind === 0) {
            const t = leb();
            funcTypes.push(t);
            imports.push({ module, field, type: t });
          } else if (kind === 1) {
            valtype();
            limits();
          } else if (kind === 2) {
            limits();
          } else if (kind === 3) {
            valtype();
            byte();
          } else if (kind === 4) {
            byte();
            leb();
          } else throw new Error(`unknown import kind ${kind}`);
        }
        break;
      case 3:
        for (let i = leb(); i > 0; i--) funcTypes.push(leb());
        break;
      case 7:
        for (let i = leb(); i > 0; i--) {
          const n = name();
          const kind = byte();
          const index = leb();
          if (kind === 0) exports.set(n, index);
        }
        break;
      default:
        break;
    }
    p = end;
  }
  const typeOf = (typeIndex) => {
    const t = types[typeIndex];
    if (!t) throw new Error(`type index ${typeIndex} out of range`);
    return t;
  };
  const signatures = new Map();
  for (const [n, index] of exports) {
    if (index >= funcTypes.length) throw new Error(`export ${n} names function ${index}, which does not exist`);
    signatures.set(n, typeOf(funcTypes[index]));
  }
  return { signatures, imports: imports.map((i) => ({ ...i, sig: typeOf(i.type) })) };
}

// ---------------------------------------------------------------------------------------------
// The `harness` import module: names and types as in harness/src/hostabi.rs IMPORTS. Nothing is
// implemented here; every call is forwarded to the harness.

const HARNESS = 'harness';
const IMPORTS = [
  ['log', ['i32', 'i32'], []],
  ['record_i32', ['i32'], []],
  ['record_i64', ['i64'], []],
  ['record_f32', ['f32'], []],
  ['record_f64', ['f64'], []],
  ['echo_i32', ['i32'], ['i32']],
  ['echo_i64', ['i64'], ['i64']],
  ['echo_f32', ['f32'], ['f32']],
  ['echo_f64', ['f64'], ['f64']],
  ['inc_i32', ['i32'], []],
  ['mem_dump', ['i32', 'i32'], []],
  ['mem_xor', ['i32', 'i32', 'i32'], []],
  ['reenter', ['i32', 'i32', 'i64'], ['i64']],
];

/** An import the harness failed: the outer call ends with this kind (or exit code). */
class ImportFailure extends Error {
  constructor(kind, message, code) {
    super(message);
    this.name = 'ImportFailure';
    this.kind = kind;
    this.code = code;
  }
}

/** proc_exit, thrown through the guest's frames so the code survives (Node's shim loses it). */
class ExitSignal {
  constructor(code) {
    this.code = code;
  }
}

const NESTED_OPS = new Set(['read_memory', 'write_memory', 'signature', 'call', 'output']);

// Floats must not pass through a JS array on their way: V8 quiets a signalling NaN stored into an
// array of doubles (0x7ff4... becomes 0x7ffc...), which is this program's doing, not the JS-to-wasm
// boundary's. So arguments travel as separate parameters and are rendered one by one, and values
// parsed from requests stay boxed in their { ty, js } objects until the call.
//
// Once the import event is sent, this function must stay on the stack until `return` or `fail`:
// a JS stack overflow inside the serving loop would unwind it mid-conversation and put the
// protocol out of step. So it first makes sure the stack has room for the loop (whose own depth
// is small and bounded: deeper recursion only happens through a nested call, which either
// overflows inside the guest and is caught by `call` below this frame, or at this check one level
// down, before that level sends anything). An overflow here is the guest's stack_overflow.
function forwardImport(name, params, results, a0, a1, a2) {
  ensureHeadroom();
  const rendered = [];
  if (params.length > 0) rendered.push(renderValue(params[0], a0));
  if (params.length > 1) rendered.push(renderValue(params[1], a1));
  if (params.length > 2) rendered.push(renderValue(params[2], a2));
  writeLine({ import: name, args: rendered });
  for (;;) {
    const req = nextRequest();
    if (req === undefined) continue;
    if (req.op === 'return') {
      let values;
      try {
        if (!Array.isArray(req.values)) throw new BadRequest('"values" is not a list');
        values = req.values.map(parseValue);
        if (values.length !== results.length || values.some((v, i) => v.ty !== results[i])) {
          const got = values.map((v) => v.ty).join(', ');
          throw new BadRequest(`expected (${results.join(', ')}), got (${got})`);
        }
      } catch (e) {
        // The import must end one way or the other to keep the protocol in step.
        throw new ImportFailure('host_error', `${HARNESS}.${name}: malformed return: ${e.message}`);
      }
      return values.length ? values[0].js : undefined;
    }
    if (req.op === 'fail') {
      const message = typeof req.message === 'string' ? req.message : '';
      const kind = typeof req.kind === 'string' && req.kind !== '' ? req.kind : 'host_error';
      if (kind === 'exit') {
        if (Number.isInteger(req.code)) throw new ImportFailure('exit', message, req.code);
        throw new ImportFailure('host_error', `${HARNESS}.${name}: fail with kind exit but no code: ${message}`);
      }
      throw new ImportFailure(kind, message);
    }
    if (NESTED_OPS.has(req.op)) writeLine(handle(req));
    else writeLine({ error: `op ${JSON.stringify(req.op)} is not served while harness.${name} waits for its answer` });
  }
}

// Headroom is measured in bytes, not frames: a call through apply() pushes every element of the
// list onto the stack whatever tier the code runs in (V8 checks the limit before it pushes and
// throws RangeError), while frame counts of a probing recursion shrink once it is optimised.
const HEADROOM_SLOTS = 8192; // 64 KiB; what the loop needs is a few KiB
const headroomArgs = new Array(HEADROOM_SLOTS).fill(0);
function headroomSink() {
  return arguments.length;
}
function ensureHeadroom() {
  if (Reflect.apply(headroomSink, null, headroomArgs) !== HEADROOM_SLOTS) throw new Error('headroom probe');
}

function harnessImports() {
  const module = Object.create(null);
  for (const [name, params, results] of IMPORTS) {
    if (params.length > 3) throw new Error(`${HARNESS}.${name}: more parameters than forwardImport takes`);
    module[name] = (a0, a1, a2) => forwardImport(name, params, results, a0, a1, a2);
  }
  return module;
}

// ---------------------------------------------------------------------------------------------
// The pinned environment (harness/src/pinned.rs).

const MASK64 = TWO64 - 1n;

class SplitMix64 {
  constructor(seed) {
    this.state = BigInt.asUintN(64, seed);
  }
  next() {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }
}

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_FAULT = 21;
const ERRNO_INVAL = 28;
const ERRNO_NOTSUP = 58;
const TICK_NS = 1000n;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;

function memoryBuffer(st) {
  const memory = st.instance?.exports?.memory;
  return memory instanceof WebAssembly.Memory ? memory.buffer : null;
}

function pinnedWasi(st, own) {
  return {
    ...own,
    random_get(buf, len) {
      const mem = memoryBuffer(st);
      const [p, n] = [buf >>> 0, len >>> 0];
      if (!mem || p + n > mem.byteLength) return ERRNO_FAULT;
      const bytes = new Uint8Array(mem, p, n);
      for (let off = 0; off < n; off += 8) {
        scratch.setBigUint64(0, st.random.next(), true);
        for (let i = 0; i < 8 && off + i < n; i++) bytes[off + i] = scratch.getUint8(i);
      }
      return ERRNO_SUCCESS;
    },
    clock_time_get(id, precision, result) {
      // Virtual time (harness/src/pinned.rs): one counter behind both clocks, one tick per reading.
      if (id !== CLOCK_REALTIME && id !== CLOCK_MONOTONIC) return ERRNO_INVAL;
      const mem = memoryBuffer(st);
      const p = result >>> 0;
      if (!mem || p + 8 > mem.byteLength) return ERRNO_FAULT;
      const now = st.now;
      st.now += TICK_NS;
      const ns = id === CLOCK_REALTIME ? st.wallEpochNs + now : now;
      new DataView(mem).setBigUint64(p, BigInt.asUintN(64, ns), true);
      return ERRNO_SUCCESS;
    },
    poll_oneoff(input, output, n, nevents) {
      // harness/src/pinned_wasi.rs's rules (wazero's semantics), sleeping in virtual time.
      const mem = memoryBuffer(st);
      const [inp, out, count, ne] = [input >>> 0, output >>> 0, n >>> 0, nevents >>> 0];
      if (count === 0) return ERRNO_INVAL;
      if (!mem || inp + count * 48 > mem.byteLength || out + count * 32 > mem.byteLength) return ERRNO_FAULT;
      if (ne + 4 > mem.byteLength) return ERRNO_FAULT;
      const view = new DataView(mem);
      const subs = new Uint8Array(mem.slice(inp, inp + count * 48));
      const sv = new DataView(subs.buffer);
      new Uint8Array(mem, out, count * 32).fill(0);
      view.setUint32(ne, count, true);
      let sleep = null;
      for (let i = 0; i < count; i++) {
        const s = i * 48;
        const tag = subs[s + 8];
        let errno;
        if (tag === 0) {
          const flags = sv.getUint16(s + 40, true);
          if (flags === 1) return ERRNO_NOTSUP;
          if (flags !== 0) return ERRNO_INVAL;
          const timeout = sv.getBigUint64(s + 24, true);
          sleep = sleep === null || timeout < sleep ? timeout : sleep;
          errno = ERRNO_SUCCESS;
        } else if (tag === 1 || tag === 2) {
          const fd = sv.getInt32(s + 16, true);
          if (fd < 0) return ERRNO_BADF;
          errno = fd > 2 ? ERRNO_BADF : tag === 1 ? ERRNO_SUCCESS : ERRNO_NOTSUP;
        } else {
          return ERRNO_INVAL;
        }
        const e = out + i * 32;
        view.setBigUint64(e, sv.getBigUint64(s, true), true);
        view.setUint16(e + 8, errno, true);
        view.setUint8(e + 10, tag);
      }
      if (sleep !== null) st.now += sleep;
      return ERRNO_SUCCESS;
    },
    proc_exit(code) {
      throw new ExitSignal(code);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Modules and the current instance.

const modules = new Map(); // key -> { module, info, infoError }
let current = null;
let fileSerial = 0;

function tempFile(what) {
  const p = path.join(os.tmpdir(), `reactor-harness-node-${process.pid}-${++fileSerial}-${what}`);
  const fd = fs.openSync(p, 'wx+');
  // Unlinked at once: the fd stays usable, and nothing is left behind even if the harness kills
  // this process at a deadline.
  fs.unlinkSync(p);
  return { fd, off: 0 };
}

function discardInstance(st) {
  for (const fd of [st.stdinFd, st.out.fd, st.err.fd]) {
    try {
      fs.closeSync(fd);
    } catch {
      // the guest may have closed it through WASI already
    }
  }
}

function requireString(req, key) {
  if (typeof req[key] !== 'string') throw new BadRequest(`"${key}" must be a string`);
  return req[key];
}

function requireU64(req, key) {
  const s = requireString(req, key);
  if (!/^[0-9]+$/.test(s) || BigInt(s) >= TWO64) throw new BadRequest(`"${key}" must be a u64 in decimal`);
  return BigInt(s);
}

function requireUint(req, key) {
  const n = req[key];
  if (!Number.isSafeInteger(n) || n < 0) throw new BadRequest(`"${key}" must be a non-negative integer`);
  return n;
}

let transientKey = null;

function load(req) {
  const key = requireString(req, 'module');
  if (modules.has(key)) return { ok: true };
  const file = requireString(req, 'path');
  const bytes = fs.readFileSync(file);
  const module = new WebAssembly.Module(bytes);
  let info = null;
  let infoError = null;
  try {
    info = parseModuleTypes(bytes);
  } catch (e) {
    infoError = `reading the function types of ${file}: ${e.message}`;
    diag(`host.mjs: ${infoError}`);
  }
  if (req.transient === true) {
    // Fuzzing loads thousands of modules: keep one transient module at a time.
    if (transientKey !== null) modules.delete(transientKey);
    transientKey = key;
  }
  modules.set(key, { module, info, infoError });
  return { ok: true };
}

function instantiate(req) {
  const key = requireString(req, 'module');
  const loaded = modules.get(key);
  if (!loaded) throw new BadRequest(`module ${JSON.stringify(key)} is not loaded`);
  const argv = req.argv ?? [];
  if (!Array.isArray(argv) || argv.some((a) => typeof a !== 'string')) throw new BadRequest('"argv" must be a list of strings');
  const envPairs = req.env ?? [];
  const env = Object.create(null);
  if (!Array.isArray(envPairs)) throw new BadRequest('"env" must be a list of [key, value] pairs');
  for (const pair of envPairs) {
    if (!Array.isArray(pair) || pair.length !== 2 || pair.some((x) => typeof x !== 'string')) {
      throw new BadRequest('"env" must be a list of [key, value] string pairs');
    }
    env[pair[0]] = pair[1];
  }
  const seed = requireU64(req, 'seed');
  const wallEpochNs = requireU64(req, 'wall_epoch_ns');

  // The harness module is defined by hostabi.rs; an in-process engine refuses to link a guest
  // that declares one of its imports with other types, so this host does too (V8 alone would
  // link any JS function to any signature).
  for (const imp of loaded.info?.imports ?? []) {
    if (imp.module !== HARNESS) continue;
    const def = IMPORTS.find(([n]) => n === imp.field);
    if (!def) continue; // V8 reports the missing import itself, below
    const want = `(${def[1].join(', ')}) -> (${def[2].join(', ')})`;
    const got = `(${imp.sig.params.join(', ')}) -> (${imp.sig.results.join(', ')})`;
    if (want !== got) throw new Error(`${HARNESS}.${imp.field}: the guest imports it as ${got}, the module defines ${want}`);
  }

  if (current) {
    discardInstance(current);
    current = null;
  }
  const st = {
    loaded,
    instance: null,
    wasi: null,
    stdinFd: fs.openSync(os.devNull, 'r'), // no stdin: the real fd 0 is the protocol
    out: tempFile('stdout'),
    err: tempFile('stderr'),
    random: new SplitMix64(seed),
    wallEpochNs,
    now: 0n, // virtual time, ns
  };
  current = st;
  st.wasi = new WASI({
    version: 'preview1',
    args: argv,
    env,
    preopens: {},
    stdin: st.stdinFd,
    stdout: st.out.fd,
    stderr: st.err.fd,
    returnOnExit: false,
  });
  const own = st.wasi.getImportObject().wasi_snapshot_preview1;
  const imports = { wasi_snapshot_preview1: pinnedWasi(st, own), [HARNESS]: harnessImports() };
  try {
    st.instance = new WebAssembly.Instance(loaded.module, imports);
  } catch (e) {
    discardInstance(st);
    current = null;
    throw e;
  }
  return { ok: true };
}

function requireInstance() {
  if (!current || !current.instance) throw new BadRequest('no instance: send instantiate first');
  return current;
}

function guestMemory(st) {
  const mem = memoryBuffer(st);
  if (!mem) throw new BadRequest('the guest exports no memory named "memory"');
  return mem;
}

function readMemory(req) {
  const mem = guestMemory(requireInstance());
  const addr = requireUint(req, 'addr');
  const len = requireUint(req, 'len');
  if (addr + len > mem.byteLength) {
    throw new BadRequest(`read of ${len} bytes at ${addr} is out of bounds (memory is ${mem.byteLength} bytes)`);
  }
  return { bytes: Buffer.from(mem, addr, len).toString('hex') };
}

function memoryDigest() {
  const mem = guestMemory(requireInstance());
  const sha256 = crypto.createHash('sha256').update(new Uint8Array(mem)).digest('hex');
  return { size: mem.byteLength, sha256 };
}

function writeMemory(req) {
  const mem = guestMemory(requireInstance());
  const addr = requireUint(req, 'addr');
  const hex = requireString(req, 'bytes');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new BadRequest('"bytes" must be a hex string');
  const bytes = Buffer.from(hex, 'hex');
  if (addr + bytes.length > mem.byteLength) {
    throw new BadRequest(`write of ${bytes.length} bytes at ${addr} is out of bounds (memory is ${mem.byteLength} bytes)`);
  }
  new Uint8Array(mem).set(bytes, addr);
  return { ok: true };
}

function exportSignature(st, name) {
  if (!st.loaded.info) throw new Error(st.loaded.infoError);
  return st.loaded.info.signatures.get(name);
}

function signature(req) {
  const st = requireInstance();
  const name = requireString(req, 'export');
  const sig = exportSignature(st, name);
  if (!sig) throw new BadRequest(`the guest has no exported function ${JSON.stringify(name)}`);
  const odd = [...sig.params, ...sig.results].find((t) => !NUMERIC.has(t));
  if (odd) throw new BadRequest(`export ${JSON.stringify(name)} uses value type ${odd}, which the protocol cannot carry`);
  return { params: sig.params, results: sig.results };
}

function drain(stream) {
  const chunks = [];
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = fs.readSync(stream.fd, buf, 0, buf.length, stream.off);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    stream.off += n;
  }
  return Buffer.concat(chunks).toString('hex');
}

function output() {
  if (!current) return { stdout: '', stderr: '' };
  return { stdout: drain(current.out), stderr: drain(current.err) };
}

// ---------------------------------------------------------------------------------------------
// Calls and their outcomes.

// V8's RuntimeError texts (src/common/message-template.h, V8 11.x).
const TRAP_TEXTS = [
  ['unreachable', 'unreachable'],
  ['memory access out of bounds', 'memory_out_of_bounds'],
  ['divide by zero', 'integer_divide_by_zero'],
  ['remainder by zero', 'integer_divide_by_zero'],
  ['divide result unrepresentable', 'integer_overflow'],
  ['integer overflow', 'integer_overflow'],
  ['float unrepresentable in integer range', 'bad_conversion_to_integer'],
  // V8 reports a null table entry and a signature mismatch with this one text, so both are
  // indirect_call_type_mismatch here (never indirect_call_null).
  ['null function or function signature mismatch', 'indirect_call_type_mismatch'],
  ['table index is out of bounds', 'table_out_of_bounds'],
  // table.init / memory.init reading past the end of their segment: the spec's "out of bounds
  // table access" and "out of bounds memory access" (found by the smith fuzz target).
  ['element segment out of bounds', 'table_out_of_bounds'],
  ['data segment out of bounds', 'memory_out_of_bounds'],
];

function importFailureIn(e) {
  for (let x = e, depth = 0; x && depth < 16; x = x.cause, depth++) {
    if (x instanceof ImportFailure) return x;
    if (typeof x !== 'object' && typeof x !== 'function') break;
  }
  return null;
}

const messageOf = (e) => (e && typeof e.message === 'string' ? e.message : String(e));

function classify(e) {
  if (e instanceof ExitSignal) return { outcome: 'exit', code: e.code };
  const failure = importFailureIn(e);
  if (failure) {
    if (failure.kind === 'exit') return { outcome: 'exit', code: failure.code };
    return { outcome: 'trap', kind: failure.kind, message: failure.message };
  }
  // Node's own errors (ERR_WASI_ALREADY_STARTED from a second initialize, ERR_WASI_NOT_STARTED
  // from a WASI function used before initialize, argument validation in wasi.initialize): the
  // runtime's WASI layer refused.
  if (e && typeof e.code === 'string' && e.code.startsWith('ERR_')) {
    const text = String(e); // errors thrown from C++ (ERR_WASI_NOT_STARTED) lack the code in it
    return { outcome: 'refused', message: text.includes(e.code) ? text : `${e.name} [${e.code}]: ${e.message}` };
  }
  const message = messageOf(e);
  if (e instanceof WebAssembly.RuntimeError) {
    for (const [text, kind] of TRAP_TEXTS) {
      if (message.includes(text)) return { outcome: 'trap', kind, message };
    }
    return { outcome: 'trap', kind: 'other', message };
  }
  if (e instanceof RangeError && message.includes('Maximum call stack size exceeded')) {
    return { outcome: 'trap', kind: 'stack_overflow', message };
  }
  // V8 converts arguments at the JS-to-wasm boundary and throws TypeError for what it cannot
  // convert (a Number for an i64, a BigInt for an i32): the runtime refused the call.
  if (e instanceof TypeError) return { outcome: 'refused', message: String(e) };
  return { outcome: 'trap', kind: 'other', message: e instanceof Error ? String(e) : message };
}

function call(req) {
  const st = requireInstance();
  const name = requireString(req, 'export');
  const rawArgs = req.args ?? [];
  if (!Array.isArray(rawArgs)) throw new BadRequest('"args" must be a list');
  const args = rawArgs.map(parseValue); // boxed: see forwardImport about NaNs in arrays
  // timeout_ms: a running wasm call cannot be interrupted on Node's main thread; the harness
  // kills this process at the deadline.
  const exported = Object.hasOwn(st.instance.exports, name) ? st.instance.exports[name] : undefined;
  if (typeof exported !== 'function') {
    return { outcome: 'refused', message: `the guest has no exported function ${JSON.stringify(name)}` };
  }
  let result;
  try {
    // A reactor is initialised and a command started the way node:wasi wants them to be, so that
    // what Node's own shim does about it is what the suite observes.
    if (name === '_initialize') result = st.wasi.initialize(st.instance);
    else if (name === '_start') result = st.wasi.start(st.instance);
    else result = invoker(args.length)(exported, args); // V8 coerces a wrong argument count silently
  } catch (e) {
    return classify(e);
  }
  if (name === '_initialize' || name === '_start') return { outcome: 'returned', values: [] };
  let types;
  try {
    types = exportSignature(st, name)?.results;
  } catch {
    types = undefined;
  }
  if (!types) {
    // No type information (the module's sections could not be read): infer from the JS values.
    const guess = (v) => (typeof v === 'bigint' ? 'i64' : Number.isInteger(v) && (v | 0) === v ? 'i32' : 'f64');
    if (result === undefined) return { outcome: 'returned', values: [] };
    if (!Array.isArray(result)) return { outcome: 'returned', values: [renderValue(guess(result), result)] };
    return { outcome: 'returned', values: result.map((v) => renderValue(guess(v), v)) };
  }
  if (types.length === 0) return { outcome: 'returned', values: [] };
  if (types.length === 1) return { outcome: 'returned', values: [renderValue(types[0], result)] };
  // Several results: V8 hands them over in an array of its own making.
  return { outcome: 'returned', values: types.map((ty, i) => renderValue(ty, result[i])) };
}

/** A function calling f with the boxed arguments as separate parameters (no array of doubles). */
const invokers = [];
function invoker(n) {
  if (!invokers[n]) {
    const list = Array.from({ length: n }, (_, i) => `a[${i}].js`).join(', ');
    invokers[n] = new Function('f', 'a', `return f(${list});`);
  }
  return invokers[n];
}

// ---------------------------------------------------------------------------------------------
// Dispatch.

function handle(req) {
  try {
    switch (req.op) {
      case 'load':
        return load(req);
      case 'instantiate':
        return instantiate(req);
      case 'call':
        return call(req);
      case 'read_memory':
        return readMemory(req);
      case 'write_memory':
        return writeMemory(req);
      case 'memory_digest':
        return memoryDigest();
      case 'signature':
        return signature(req);
      case 'output':
        return output();
      case 'exit':
        return shutdown(0);
      case 'return':
      case 'fail':
        return { error: `${req.op}: no import is waiting for an answer` };
      default:
        return { error: `unknown op ${JSON.stringify(req.op)}` };
    }
  } catch (e) {
    return { error: messageOf(e) };
  }
}

function main() {
  const engine = engineFromArgs(process.argv.slice(2));
  writeLine({ ready: true, engine, version: `node ${process.versions.node} / v8 ${process.versions.v8}` });
  for (;;) {
    const req = nextRequest();
    if (req !== undefined) writeLine(handle(req));
  }
}

main();
