// The host's state and request handling: loading, instantiating, calls, and the forwarded `harness` imports.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
	f32 = api.ValueTypeF32
	f64 = api.ValueTypeF64
)

// harnessImports mirrors IMPORTS in harness/src/hostabi.rs: names and wasm signatures only; the
// behaviour lives in the harness, which every call is forwarded to.
var harnessImports = []struct {
	name            string
	params, results []api.ValueType
}{
	{"log", []api.ValueType{i32, i32}, nil},
	{"record_i32", []api.ValueType{i32}, nil},
	{"record_i64", []api.ValueType{i64}, nil},
	{"record_f32", []api.ValueType{f32}, nil},
	{"record_f64", []api.ValueType{f64}, nil},
	{"echo_i32", []api.ValueType{i32}, []api.ValueType{i32}},
	{"echo_i64", []api.ValueType{i64}, []api.ValueType{i64}},
	{"echo_f32", []api.ValueType{f32}, []api.ValueType{f32}},
	{"echo_f64", []api.ValueType{f64}, []api.ValueType{f64}},
	{"inc_i32", []api.ValueType{i32}, nil},
	{"mem_dump", []api.ValueType{i32, i32}, nil},
	{"mem_xor", []api.ValueType{i32, i32, i32}, nil},
	{"reenter", []api.ValueType{i32, i32, i64}, []api.ValueType{i64}},
}

// importFailure is what a `harness` import panics with when the harness answers `fail`; wazero
// wraps it with %w, so the outer call's error still carries the kind (or exit code).
type importFailure struct {
	importName string
	kind       string
	message    string
	code       uint32
}

func (f *importFailure) Error() string {
	if f.kind == "exit" {
		return fmt.Sprintf("harness.%s: exit(%d): %s", f.importName, f.code, f.message)
	}
	return fmt.Sprintf("harness.%s: %s: %s", f.importName, f.kind, f.message)
}

// importFrame is one `harness` import call waiting for the harness's answer.
type importFrame struct {
	name    string
	ctx     context.Context
	mod     api.Module
	results []api.ValueType
}

type host struct {
	w        *wire
	runtime  wazero.Runtime
	compiled map[string]wazero.CompiledModule
	// transient is the key of the one module loaded with "transient":true, "" when none.
	transient string
	mod       api.Module // the current instance, nil before the first instantiate
	stdout    *bytes.Buffer
	stderr    *bytes.Buffer
	running   []context.Context // contexts of the calls in progress, innermost last
}

func newHost(ctx context.Context, w *wire, cfg wazero.RuntimeConfig) (*host, error) {
	h := &host{
		w:        w,
		runtime:  wazero.NewRuntimeWithConfig(ctx, cfg.WithCloseOnContextDone(true)),
		compiled: map[string]wazero.CompiledModule{},
		stdout:   new(bytes.Buffer),
		stderr:   new(bytes.Buffer),
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, h.runtime); err != nil {
		return nil, fmt.Errorf("instantiating wasi_snapshot_preview1: %w", err)
	}
	b := h.runtime.NewHostModuleBuilder("harness")
	for _, imp := range harnessImports {
		b.NewFunctionBuilder().
			WithGoModuleFunction(h.forward(imp.name, imp.params, imp.results), imp.params, imp.results).
			Export(imp.name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return nil, fmt.Errorf("instantiating the harness module: %w", err)
	}
	return h, nil
}

// currentCtx is the context of the innermost call in progress (Background when none).
func (h *host) currentCtx() context.Context {
	if n := len(h.running); n > 0 {
		return h.running[n-1]
	}
	return context.Background()
}

// forward is the Go body of one `harness` import: it sends the import event, then serves the
// harness's requests until it answers `return` or `fail`.
func (h *host) forward(name string, params, results []api.ValueType) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		h.w.send(importEvent{Import: name, Args: formatValues(params, stack[:len(params)])})
		values, fail := h.serve(&importFrame{name: name, ctx: ctx, mod: mod, results: results})
		if fail != nil {
			panic(fail)
		}
		copy(stack, values)
	}
}

// serve answers requests until EOF (which ends the host), or, inside an import, until the
// harness answers `return` (the import's result values) or `fail` (the import traps).
func (h *host) serve(frame *importFrame) ([]uint64, *importFailure) {
	for {
		line, err := h.w.readLine()
		if err != nil {
			exitHost(nil)
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			h.w.sendError("malformed request: %v", err)
			continue
		}
		if frame != nil {
			switch req.Op {
			case "return":
				values, err := parseTyped("harness."+frame.name+" result", req.Values, frame.results)
				if err != nil {
					h.w.sendError("%v", err)
					continue
				}
				return values, nil
			case "fail":
				fail := &importFailure{importName: frame.name, kind: req.Kind, message: req.Message}
				if fail.kind == "" {
					fail.kind = "host_error"
				}
				if fail.kind == "exit" {
					if req.Code == nil {
						h.w.sendError("fail with kind exit needs a code")
						continue
					}
					fail.code = uint32(*req.Code)
				}
				return nil, fail
			}
		}
		h.handle(frame, &req)
	}
}

// handle answers one request that is not the end of an import.
func (h *host) handle(frame *importFrame, req *request) {
	ctx, mod := context.Background(), h.mod
	if frame != nil {
		ctx, mod = frame.ctx, frame.mod
	}
	switch req.Op {
	case "load":
		if err := h.load(ctx, req); err != nil {
			h.w.sendError("load: %v", err)
			return
		}
		h.w.send(okReply{Ok: true})
	case "instantiate":
		if frame != nil || len(h.running) > 0 {
			h.w.sendError("instantiate: not allowed while a call is in progress")
			return
		}
		if err := h.instantiate(req); err != nil {
			h.w.sendError("instantiate: %v", err)
			return
		}
		h.w.send(okReply{Ok: true})
	case "call":
		if mod == nil {
			h.w.sendError("call: no instance")
			return
		}
		h.w.send(h.call(ctx, mod, req))
	case "read_memory":
		mem, err := memoryOf(mod)
		if err != nil {
			h.w.sendError("read_memory: %v", err)
			return
		}
		if req.Addr == nil || req.Len == nil || *req.Addr > math.MaxUint32 || *req.Len > math.MaxUint32 {
			h.w.sendError("read_memory: needs addr and len, each a u32")
			return
		}
		b, ok := mem.Read(uint32(*req.Addr), uint32(*req.Len))
		if !ok {
			h.w.sendError("read_memory: %d bytes at %d are out of bounds (memory size %d)", *req.Len, *req.Addr, mem.Size())
			return
		}
		h.w.send(bytesReply{Bytes: hex.EncodeToString(b)})
	case "memory_digest":
		mem, err := memoryOf(mod)
		if err != nil {
			h.w.sendError("memory_digest: %v", err)
			return
		}
		b, _ := mem.Read(0, mem.Size())
		sum := sha256.Sum256(b)
		h.w.send(digestReply{Size: uint64(len(b)), Sha256: hex.EncodeToString(sum[:])})
	case "write_memory":
		mem, err := memoryOf(mod)
		if err != nil {
			h.w.sendError("write_memory: %v", err)
			return
		}
		if req.Addr == nil || req.Bytes == nil || *req.Addr > math.MaxUint32 {
			h.w.sendError("write_memory: needs addr (a u32) and bytes")
			return
		}
		b, err := hex.DecodeString(*req.Bytes)
		if err != nil {
			h.w.sendError("write_memory: bytes: %v", err)
			return
		}
		if uint64(len(b)) > math.MaxUint32 || !mem.Write(uint32(*req.Addr), b) {
			h.w.sendError("write_memory: %d bytes at %d are out of bounds (memory size %d)", len(b), *req.Addr, mem.Size())
			return
		}
		h.w.send(okReply{Ok: true})
	case "signature":
		if mod == nil {
			h.w.sendError("signature: no instance")
			return
		}
		fn := mod.ExportedFunction(req.Export)
		if fn == nil {
			h.w.sendError("signature: the guest has no exported function %q", req.Export)
			return
		}
		def := fn.Definition()
		h.w.send(signatureReply{Params: typeNames(def.ParamTypes()), Results: typeNames(def.ResultTypes())})
	case "output":
		h.w.send(outputReply{Stdout: hex.EncodeToString(h.stdout.Bytes()), Stderr: hex.EncodeToString(h.stderr.Bytes())})
		h.stdout.Reset()
		h.stderr.Reset()
	case "exit":
		exitHost(nil)
	case "return", "fail":
		h.w.sendError("%s: no import is waiting for an answer", req.Op)
	case "":
		h.w.sendError("request has no op")
	default:
		h.w.sendError("unknown op %q", req.Op)
	}
}

func memoryOf(mod api.Module) (api.Memory, error) {
	if mod == nil {
		return nil, errors.New("no instance")
	}
	mem := mod.Memory()
	if mem == nil {
		return nil, errors.New("the guest exports no memory")
	}
	return mem, nil
}

func (h *host) load(ctx context.Context, req *request) error {
	if req.Module == "" || req.Path == "" {
		return errors.New("needs module and path")
	}
	if _, ok := h.compiled[req.Module]; ok {
		return nil
	}
	wasm, err := os.ReadFile(req.Path)
	if err != nil {
		return err
	}
	cm, err := h.runtime.CompileModule(ctx, wasm)
	if err != nil {
		return err
	}
	if req.Transient {
		// Fuzzing loads thousands of modules: keep one transient module at a time.
		if old, ok := h.compiled[h.transient]; ok && h.transient != "" {
			if h.mod != nil {
				_ = h.mod.Close(ctx)
				h.mod = nil
			}
			_ = old.Close(ctx)
			delete(h.compiled, h.transient)
		}
		h.transient = req.Module
	}
	h.compiled[req.Module] = cm
	return nil
}

func (h *host) instantiate(req *request) error {
	ctx := context.Background()
	cm, ok := h.compiled[req.Module]
	if !ok {
		return fmt.Errorf("module %q is not loaded", req.Module)
	}
	if req.Seed == nil || req.WallEpochNs == nil {
		return errors.New("needs seed and wall_epoch_ns")
	}
	for _, kv := range req.Env {
		if len(kv) != 2 {
			return fmt.Errorf("env entry %q is not a [key, value] pair", kv)
		}
	}
	if h.mod != nil {
		_ = h.mod.Close(ctx)
		h.mod = nil
	}
	h.stdout, h.stderr = new(bytes.Buffer), new(bytes.Buffer)
	clock := &virtualClock{wallEpoch: uint64(*req.WallEpochNs)}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithArgs(req.Argv...).
		WithRandSource(&splitMix64{state: uint64(*req.Seed)}).
		WithWalltime(clock.walltime, clockResolution).
		WithNanotime(clock.nanotime, clockResolution).
		WithNanosleep(clock.nanosleep).
		WithStdout(h.stdout).
		WithStderr(h.stderr)
	for _, kv := range req.Env {
		cfg = cfg.WithEnv(kv[0], kv[1])
	}
	mod, err := h.runtime.InstantiateModule(ctx, cm, cfg)
	if err != nil {
		return err
	}
	h.mod = mod
	return nil
}

// call runs one export and returns its outcome. Inside an import, parent is the import's context,
// so the outer call's deadline still applies.
func (h *host) call(parent context.Context, mod api.Module, req *request) any {
	fn := mod.ExportedFunction(req.Export)
	if fn == nil {
		return refusedOutcome{Outcome: "refused", Message: fmt.Sprintf("the guest has no exported function %q", req.Export)}
	}
	def := fn.Definition()
	for _, text := range req.Args {
		if _, _, err := parseValue(text); err != nil {
			return errorReply{Error: "call: " + err.Error()}
		}
	}
	args, err := parseTyped(req.Export, req.Args, def.ParamTypes())
	if err != nil {
		return refusedOutcome{Outcome: "refused", Message: err.Error()}
	}
	ctx := parent
	if req.TimeoutMs != nil && *req.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, time.Duration(*req.TimeoutMs*float64(time.Millisecond)))
		defer cancel()
	}
	h.running = append(h.running, ctx)
	results, err := fn.Call(ctx, args...)
	h.running = h.running[:len(h.running)-1]
	if err != nil {
		return classify(err)
	}
	return returnedOutcome{Outcome: "returned", Values: formatValues(def.ResultTypes(), results)}
}

// wasmTraps maps wazero's runtime error texts (internal/wasmruntime) to the protocol's kinds. A
// null call_indirect entry is "invalid table access" in wazero, so it reads as table_out_of_bounds.
var wasmTraps = []struct{ text, kind string }{
	{"unreachable", "unreachable"},
	{"out of bounds memory access", "memory_out_of_bounds"},
	{"integer divide by zero", "integer_divide_by_zero"},
	{"integer overflow", "integer_overflow"},
	{"invalid conversion to integer", "bad_conversion_to_integer"},
	{"indirect call type mismatch", "indirect_call_type_mismatch"},
	{"invalid table access", "table_out_of_bounds"},
	{"stack overflow", "stack_overflow"},
}

// classify turns a failed call's error into the protocol's outcome.
func classify(err error) any {
	msg := err.Error()
	var fail *importFailure
	if errors.As(err, &fail) {
		if fail.kind == "exit" {
			return exitOutcome{Outcome: "exit", Code: int32(fail.code)}
		}
		return trapOutcome{Outcome: "trap", Kind: fail.kind, Message: msg}
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded, sys.ExitCodeContextCanceled:
			return trapOutcome{Outcome: "trap", Kind: "timeout", Message: msg}
		}
		return exitOutcome{Outcome: "exit", Code: int32(exit.ExitCode())}
	}
	// Traps read "wasm error: <text>\nwasm stack trace: ...", except the compiler's stack
	// overflow, which is returned as the bare runtime error "stack overflow".
	first, _, _ := strings.Cut(msg, "\n")
	first = strings.TrimPrefix(first, "wasm error: ")
	for _, t := range wasmTraps {
		if first == t.text {
			return trapOutcome{Outcome: "trap", Kind: t.kind, Message: msg}
		}
	}
	return trapOutcome{Outcome: "trap", Kind: "other", Message: msg}
}
