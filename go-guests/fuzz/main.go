// Guest "fuzz": the guest that coverage-guided fuzzing drives. A fuzzer calls these exports in any
// order with any arguments of their wasm types, on several runtimes, and diffs what happened; so
// the same call sequence must do exactly the same thing on every engine and every run:
//   - no map iteration, no addresses in output, no real time (time.Sleep is virtual in the
//     harness), no randomness;
//   - every loop is bounded by a small constant or by an argument clamped to a small range;
//   - no export blocks forever except Recv with nothing to receive, which is Go's deterministic
//     deadlock fatal error;
//   - NaNs that float arithmetic produces are canonicalised (see canon64), since wasm leaves their
//     sign and payload to the engine; NaNs that only pass through keep their bits.
//
// The exports cover every scalar type an export accepts, package state across calls, goroutines
// suspended across calls, re-entrancy through the host, every host import with every type it
// marshals, bytes and a HostLayout struct shared with the host through pointers, and traps.
package main

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"structs"
	"time"
	"unsafe"
)

func main() {}

// ---- host imports ----

//go:wasmimport harness log
func hostLog(s string)

//go:wasmimport harness record_i32
func recordI32(x int32)

//go:wasmimport harness record_i64
func recordI64(x int64)

//go:wasmimport harness record_f32
func recordF32(x float32)

//go:wasmimport harness record_f64
func recordF64(x float64)

//go:wasmimport harness echo_i32
func echoI32(x int32) int32

// echo_i32 declared with a bool parameter and result: the byte Go holds goes out, the low byte of
// what comes back is kept.
//
//go:wasmimport harness echo_i32
func echoBool(b bool) bool

//go:wasmimport harness echo_i64
func echoI64(x int64) int64

//go:wasmimport harness echo_f32
func echoF32(x float32) float32

//go:wasmimport harness echo_f64
func echoF64(x float64) float64

//go:wasmimport harness inc_i32
func incI32(p *int32)

// mem_dump and mem_xor are declared once per pointer type Go passes them.
//
//go:wasmimport harness mem_dump
func memDumpBytes(p *byte, n uint32)

//go:wasmimport harness mem_dump
func memDumpShared(p *Shared, n uint32)

//go:wasmimport harness mem_xor
func memXorBytes(p *byte, n uint32, mask int32)

//go:wasmimport harness reenter
func reenter(name string, arg int64) int64

// clamp32 bounds x to [lo, hi]: every count and offset from the fuzzer goes through it.
func clamp32(x, lo, hi int32) int32 {
	return min(max(x, lo), hi)
}

// ---- pure arithmetic over every accepted scalar type ----

//go:wasmexport AddI32
func AddI32(a, b int32) int32 { return a + b }

//go:wasmexport MulI64
func MulI64(a, b int64) int64 { return a * b }

// DivU32 panics when b is 0 (Go's integer divide by zero), on purpose.
//
//go:wasmexport DivU32
func DivU32(a, b uint32) uint32 { return a / b }

// RemI64 panics when b is 0; MinInt64 % -1 is 0 in Go.
//
//go:wasmexport RemI64
func RemI64(a, b int64) int64 { return a % b }

// canonNaN32 and canonNaN64 are the positive canonical NaNs. A NaN that wasm arithmetic produces
// has an engine-chosen sign and payload (which operand's payload survives depends on the order a
// compiler emits commutative operands in), so float results of arithmetic are canonicalised.
const (
	canonNaN32 = 0x7fc00000
	canonNaN64 = 0x7ff8000000000000
)

func canon32(x float32) float32 {
	if x != x {
		return math.Float32frombits(canonNaN32)
	}
	return x
}

func canon64(x float64) float64 {
	if x != x {
		return math.Float64frombits(canonNaN64)
	}
	return x
}

//go:wasmexport F32Mix
func F32Mix(a, b float32) float32 { return canon32(a*b + a) }

//go:wasmexport F64Mix
func F64Mix(a, b float64) float64 { return canon64(a*b + a) }

// Mix converts every parameter to float64 (int64 rounds to nearest, float32 widens exactly).
//
//go:wasmexport Mix
func Mix(a int32, b int64, c float32, d float64) float64 {
	return canon64(float64(a) + float64(b)*float64(c) - d)
}

// Not sees only the low byte of its i32 argument.
//
//go:wasmexport Not
func Not(b bool) bool { return !b }

// U64Shift shifts left by s; Go defines shifts of 64 or more as 0 (wasm would take s mod 64).
//
//go:wasmexport U64Shift
func U64Shift(a uint64, s uint32) uint64 { return a << s }

// ---- package state across calls ----

// stackMax bounds the stack: a Push beyond it drops the oldest value, so memory stays bounded
// however many calls the fuzzer makes. The backing array is allocated once, in init.
const stackMax = 256

var stack = make([]int64, 0, stackMax)

//go:wasmexport Push
func Push(v int64) {
	if len(stack) == stackMax {
		copy(stack, stack[1:])
		stack = stack[:stackMax-1]
	}
	stack = append(stack, v)
}

// Pop returns the newest value, or 0 when the stack is empty.
//
//go:wasmexport Pop
func Pop() int64 {
	if len(stack) == 0 {
		return 0
	}
	v := stack[len(stack)-1]
	stack = stack[:len(stack)-1]
	return v
}

//go:wasmexport Sum
func Sum() int64 {
	var s int64
	for _, v := range stack { // at most stackMax
		s += v
	}
	return s
}

//go:wasmexport Len
func Len() int32 { return int32(len(stack)) }

// ---- goroutines suspended across calls ----

// doneCap is the capacity of done. Spawn never lets more goroutines be outstanding (started and
// not yet drained) than that, so no spawned goroutine ever blocks on its send, and the number of
// live goroutines stays bounded.
const doneCap = 64

var (
	done        = make(chan int32, doneCap)
	outstanding int32 // spawned goroutines whose value Drain has not received yet
	spawnSerial int32 // serial number of the next spawned goroutine, over the instance's life
)

// Spawn starts min(max(n, 0), 8) goroutines (fewer when doneCap would be exceeded) and returns
// without a scheduling point: they run at a later call's Gosched, Sleep or blocking receive.
// Each records its serial number, yields three times, and then sends the serial number on done.
//
//go:wasmexport Spawn
func Spawn(n int32) {
	n = min(clamp32(n, 0, 8), doneCap-outstanding)
	for i := int32(0); i < n; i++ {
		id := spawnSerial
		spawnSerial++
		outstanding++
		go func() {
			recordI32(id)
			for j := 0; j < 3; j++ {
				runtime.Gosched()
			}
			done <- id
		}()
	}
}

// Yield is three scheduling points in a row.
//
//go:wasmexport Yield
func Yield() {
	for i := 0; i < 3; i++ {
		runtime.Gosched()
	}
}

// Drain receives, without blocking, what spawned goroutines have sent so far, and returns the
// count. The buffer never holds more than doneCap values.
//
//go:wasmexport Drain
func Drain() int32 {
	var count int32
	for i := 0; i < doneCap; i++ {
		select {
		case <-done:
			count++
		default:
			outstanding -= count
			return count
		}
	}
	outstanding -= count
	return count
}

// Sleep sleeps min(max(ms, 0), 50) milliseconds of virtual time; goroutines run meanwhile.
//
//go:wasmexport Sleep
func Sleep(ms int32) {
	time.Sleep(time.Duration(clamp32(ms, 0, 50)) * time.Millisecond)
}

// sendMax bounds the goroutines Send leaves parked on sendCh; a Send beyond it is dropped (and
// logged), so a Recv is owed exactly `pendingSends` values.
const sendMax = 16

var (
	sendCh       = make(chan int32, 1)
	pendingSends int32
)

// Send starts a goroutine that sends v on sendCh (capacity 1) and returns without a scheduling
// point: the first such goroutine fills the buffer when it runs, later ones park on their send.
//
//go:wasmexport Send
func Send(v int32) {
	if pendingSends == sendMax {
		hostLog("send: dropped")
		return
	}
	pendingSends++
	go func() { sendCh <- v }()
}

// Recv receives one value from sendCh, blocking. With nothing sent and no sender left, every
// goroutine is asleep: Go's deadlock fatal error, which is deterministic and wanted.
//
//go:wasmexport Recv
func Recv() int32 {
	v := <-sendCh
	pendingSends--
	return v
}

// ---- host callbacks and re-entrancy ----

// Callback re-enters Double through the host.
//
//go:wasmexport Callback
func Callback(v int64) int64 { return reenter("Double", v) }

//go:wasmexport Double
func Double(v int64) int64 {
	hostLog("double " + strconv.FormatInt(v, 10))
	return 2 * v
}

// Nest re-enters itself through the host down to depth 0 (depth clamped to 0..8) and returns
// depth + (depth-1) + ... + 0.
//
//go:wasmexport Nest
func Nest(depth int32) int64 {
	depth = clamp32(depth, 0, 8)
	if depth == 0 {
		return 0
	}
	return int64(depth) + reenter("Nest", int64(depth-1))
}

// ---- host imports with every marshaled type ----

//go:wasmexport Log
func Log(n int32) { hostLog("n=" + strconv.Itoa(int(n))) }

//go:wasmexport Record
func Record(a int32, b int64, c float32, d float64) {
	recordI32(a)
	recordI64(b)
	recordF32(c)
	recordF64(d)
}

// EchoAll sends each value through its echo import and folds what came back into one int64,
// floats by their bits so that NaN payloads count.
//
//go:wasmexport EchoAll
func EchoAll(a int32, b int64, c float32, d float64) int64 {
	ra := echoI32(a)
	rb := echoI64(b)
	rc := echoF32(c)
	rd := echoF64(d)
	return int64(ra) ^ rb<<1 ^ int64(math.Float32bits(rc))<<32 ^ int64(math.Float64bits(rd))
}

//go:wasmexport EchoBool
func EchoBool(b bool) bool { return echoBool(b) }

// ---- bytes shared with the host ----

const bufLen = 4096

var buf [bufLen]byte

// Buf returns the buffer's address, for the host to write into (an unsafe.Pointer, as
// marshal's BufAddr). Its value depends on the Go release, never on the engine.
//
//go:wasmexport Buf
func Buf() unsafe.Pointer { return unsafe.Pointer(&buf[0]) }

//go:wasmexport BufLen
func BufLen() int32 { return bufLen }

// span clamps (off, n) to a range inside buf: off to 0..bufLen-1 (so &buf[off] is always valid),
// n to 0..bufLen-off.
func span(off, n int32) (int32, int32) {
	off = clamp32(off, 0, bufLen-1)
	return off, clamp32(n, 0, bufLen-off)
}

// Checksum is FNV-1a (32 bits) over buf[off:off+n].
//
//go:wasmexport Checksum
func Checksum(off, n int32) uint32 {
	off, n = span(off, n)
	h := uint32(2166136261)
	for _, b := range buf[off : off+n] { // at most bufLen
		h ^= uint32(b)
		h *= 16777619
	}
	return h
}

//go:wasmexport DumpBuf
func DumpBuf(off, n int32) {
	off, n = span(off, n)
	memDumpBytes(&buf[off], uint32(n))
}

// XorBuf lets the host XOR buf[off:off+n] with mask's low byte in place.
//
//go:wasmexport XorBuf
func XorBuf(off, n, mask int32) {
	off, n = span(off, n)
	memXorBytes(&buf[off], uint32(n), mask)
}

// LogBuf logs the bytes as a string; they need not be UTF-8 (the host decodes lossily).
//
//go:wasmexport LogBuf
func LogBuf(off, n int32) {
	off, n = span(off, n)
	hostLog(string(buf[off : off+n]))
}

// ---- a HostLayout struct shared with the host ----

// Shared uses the host's C-like layout: I32 at 0, I64 at 8, F64 at 16, Tag at 24, Ok at 28;
// size 32.
type Shared struct {
	_   structs.HostLayout
	I32 int32
	I64 int64
	F64 float64
	Tag [4]byte
	Ok  bool
}

var shared = Shared{I32: 7, I64: -3, F64: 2.5, Tag: [4]byte{'f', 'u', 'z', 'z'}, Ok: true}

//go:wasmexport StructPtr
func StructPtr() *Shared { return &shared }

//go:wasmexport DumpStruct
func DumpStruct() { memDumpShared(&shared, uint32(unsafe.Sizeof(shared))) }

// IncStruct lets the host increment I32 through its address.
//
//go:wasmexport IncStruct
func IncStruct() { incI32(&shared.I32) }

// StructSum folds every field into an int64: F64 by its bits (no float-to-int conversion, which
// the host could make overflow by writing the field), Ok as 1 or 0.
//
//go:wasmexport StructSum
func StructSum() int64 {
	s := int64(shared.I32) + shared.I64 + int64(math.Float64bits(shared.F64))
	for i, b := range shared.Tag {
		s += int64(b) << (8 * i)
	}
	if shared.Ok {
		s++
	}
	return s
}

// ---- traps ----

// Panic panics with a message built from n: an unrecovered panic traps (unreachable).
//
//go:wasmexport Panic
func Panic(n int32) { panic("fuzz panic " + strconv.Itoa(int(n))) }

// Exit ends the module with proc_exit(code mod 126): os.Exit documents 0..125 as the portable
// range, and above it wasmtime-wasi and wasi-common fail the proc_exit call instead of exiting
// (a divergence the fuzzer found, pinned by corpus/module/proc-exit-138.wat); keeping the fuzz
// guest in the portable range lets campaigns look for something else.
//
//go:wasmexport Exit
func Exit(code int32) { os.Exit(int(uint32(code) % 126)) }
