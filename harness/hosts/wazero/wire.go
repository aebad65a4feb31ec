// The wire format of harness/hosts/PROTOCOL.md: request lines, reply lines, canonical values.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// request is any line the harness sends; each op uses a subset of the fields.
type request struct {
	Op          string     `json:"op"`
	Module      string     `json:"module"`
	Path        string     `json:"path"`
	Transient   bool       `json:"transient"`
	Argv        []string   `json:"argv"`
	Env         [][]string `json:"env"`
	Seed        *decU64    `json:"seed"`
	WallEpochNs *decU64    `json:"wall_epoch_ns"`
	Export      string     `json:"export"`
	Args        []string   `json:"args"`
	TimeoutMs   *float64   `json:"timeout_ms"`
	Addr        *uint64    `json:"addr"`
	Len         *uint64    `json:"len"`
	Bytes       *string    `json:"bytes"`
	Values      []string   `json:"values"`
	Message     string     `json:"message"`
	Kind        string     `json:"kind"`
	Code        *int64     `json:"code"`
}

// decU64 is a u64 sent as a decimal string (a JSON number is accepted too).
type decU64 uint64

func (d *decU64) UnmarshalJSON(b []byte) error {
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not a u64 decimal: %s", b)
	}
	*d = decU64(v)
	return nil
}

// wire owns the host's stdin and stdout: one JSON object per line each way.
type wire struct {
	in  *bufio.Reader
	out *bufio.Writer
}

// readLine returns the next non-empty line, or io.EOF.
func (w *wire) readLine() ([]byte, error) {
	for {
		line, err := w.in.ReadBytes('\n')
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			return line, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// send writes one line and flushes it.
func (w *wire) send(v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only our own reply types are encoded; this cannot happen, but stay on the protocol.
		b.Reset()
		fmt.Fprintf(&b, "{\"error\":%q}\n", "encoding reply: "+err.Error())
	}
	if _, err := w.out.Write(b.Bytes()); err != nil {
		exitHost(err)
	}
	if err := w.out.Flush(); err != nil {
		exitHost(err)
	}
}

func (w *wire) sendError(format string, a ...any) {
	w.send(errorReply{Error: fmt.Sprintf(format, a...)})
}

// Replies, with their fields in protocol order.
type (
	readyReply struct {
		Ready   bool   `json:"ready"`
		Engine  string `json:"engine"`
		Version string `json:"version"`
	}
	okReply struct {
		Ok bool `json:"ok"`
	}
	errorReply struct {
		Error string `json:"error"`
	}
	bytesReply struct {
		Bytes string `json:"bytes"`
	}
	digestReply struct {
		Size   uint64 `json:"size"`
		Sha256 string `json:"sha256"`
	}
	signatureReply struct {
		Params  []string `json:"params"`
		Results []string `json:"results"`
	}
	outputReply struct {
		Stdout string `json:"stdout"`
		Stderr string `json:"stderr"`
	}
	returnedOutcome struct {
		Outcome string   `json:"outcome"`
		Values  []string `json:"values"`
	}
	trapOutcome struct {
		Outcome string `json:"outcome"`
		Kind    string `json:"kind"`
		Message string `json:"message"`
	}
	exitOutcome struct {
		Outcome string `json:"outcome"`
		Code    int32  `json:"code"`
	}
	refusedOutcome struct {
		Outcome string `json:"outcome"`
		Message string `json:"message"`
	}
	importEvent struct {
		Import string   `json:"import"`
		Args   []string `json:"args"`
	}
)

func typeName(t api.ValueType) string {
	switch t {
	case api.ValueTypeI32:
		return "i32"
	case api.ValueTypeI64:
		return "i64"
	case api.ValueTypeF32:
		return "f32"
	case api.ValueTypeF64:
		return "f64"
	}
	return api.ValueTypeName(t)
}

func typeNames(ts []api.ValueType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = typeName(t)
	}
	return out
}

// formatValue renders a wasm value (as wazero's uint64 stack slot) in canonical form.
func formatValue(t api.ValueType, raw uint64) string {
	switch t {
	case api.ValueTypeI32:
		return "i32:" + strconv.FormatInt(int64(api.DecodeI32(raw)), 10)
	case api.ValueTypeI64:
		return "i64:" + strconv.FormatInt(int64(raw), 10)
	case api.ValueTypeF32:
		return fmt.Sprintf("f32:bits:0x%08x", uint32(raw))
	case api.ValueTypeF64:
		return fmt.Sprintf("f64:bits:0x%016x", raw)
	}
	return fmt.Sprintf("%s:0x%x", api.ValueTypeName(t), raw)
}

func formatValues(ts []api.ValueType, raw []uint64) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = formatValue(t, raw[i])
	}
	return out
}

// parseValue reads a canonical value: `i32:-1`, `i64:42`, `f32:bits:0x7fa00001`,
// `f64:bits:0x7ff4000000000001`. Floats are accepted only as bits, so payloads are exact.
func parseValue(s string) (api.ValueType, uint64, error) {
	ty, rest, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("value %q has no type prefix", s)
	}
	switch ty {
	case "i32":
		n, err := strconv.ParseInt(rest, 10, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("value %q: %v", s, err)
		}
		return api.ValueTypeI32, api.EncodeI32(int32(n)), nil
	case "i64":
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("value %q: %v", s, err)
		}
		return api.ValueTypeI64, api.EncodeI64(n), nil
	case "f32", "f64":
		width := 32
		t := api.ValueTypeF32
		if ty == "f64" {
			width, t = 64, api.ValueTypeF64
		}
		hexBits, ok := strings.CutPrefix(rest, "bits:0x")
		if !ok {
			return 0, 0, fmt.Errorf("value %q: floats are written as bits, e.g. %s:bits:0x...", s, ty)
		}
		n, err := strconv.ParseUint(hexBits, 16, width)
		if err != nil {
			return 0, 0, fmt.Errorf("value %q: %v", s, err)
		}
		return t, n, nil
	}
	return 0, 0, fmt.Errorf("value %q: unknown type %q", s, ty)
}

// parseTyped parses values that must have exactly the types ts.
func parseTyped(what string, texts []string, ts []api.ValueType) ([]uint64, error) {
	if len(texts) != len(ts) {
		return nil, fmt.Errorf("%s takes %d values, got %d", what, len(ts), len(texts))
	}
	raw := make([]uint64, len(texts))
	for i, text := range texts {
		t, v, err := parseValue(text)
		if err != nil {
			return nil, err
		}
		if t != ts[i] {
			return nil, fmt.Errorf("%s: value %d is %s, want %s", what, i, typeName(t), typeName(ts[i]))
		}
		raw[i] = v
	}
	return raw, nil
}
