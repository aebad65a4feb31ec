// Guest "marshal": how values cross the wasm boundary in both directions: every parameter and
// result type //go:wasmexport accepts, bool's low byte, unsigned wrap-around and extremes, NaN
// payloads, pointers into linear memory (read and written by the host), strings, and the types
// //go:wasmimport passes to the host, including structs laid out with structs.HostLayout.
package main

import (
	"math"
	"structs"
	"unsafe"
)

func main() {}

// ---- host imports ----

//go:wasmimport harness log
func hostLog(s string)

//go:wasmimport harness record_i32
func recordI32(x int32)

// The same import declared with an unsigned Go type: the host sees the raw i32.
//
//go:wasmimport harness record_i32
func recordU32(x uint32)

//go:wasmimport harness record_i64
func recordI64(x int64)

//go:wasmimport harness record_i64
func recordU64(x uint64)

//go:wasmimport harness record_f32
func recordF32(x float32)

//go:wasmimport harness record_f64
func recordF64(x float64)

//go:wasmimport harness echo_i32
func echoBool(b bool) bool

// echo_i32 with an int32 parameter and a bool result: Go keeps only the low byte of the result.
//
//go:wasmimport harness echo_i32
func echoI32AsBool(x int32) bool

//go:wasmimport harness echo_i64
func echoU64(x uint64) uint64

//go:wasmimport harness echo_f32
func echoF32(x float32) float32

//go:wasmimport harness echo_f64
func echoF64(x float64) float64

//go:wasmimport harness inc_i32
func incI32(p *int32)

//go:wasmimport harness mem_dump
func memDump(p *Record, n uint32)

//go:wasmimport harness mem_xor
func memXor(p *Record, n uint32, mask int32)

// ---- scalar parameters and results (items 15, 16, 18, 20) ----

//go:wasmexport EchoI32
func EchoI32(x int32) int32 { return x }

//go:wasmexport EchoU32
func EchoU32(x uint32) uint32 { return x }

//go:wasmexport EchoI64
func EchoI64(x int64) int64 { return x }

//go:wasmexport EchoU64
func EchoU64(x uint64) uint64 { return x }

//go:wasmexport EchoF32
func EchoF32(x float32) float32 { return x }

//go:wasmexport EchoF64
func EchoF64(x float64) float64 { return x }

// Not sees only the low byte of its i32 argument.
//
//go:wasmexport Not
func Not(b bool) bool { return !b }

// IsNeg returns a bool computed in Go: the result is 0 or 1.
//
//go:wasmexport IsNeg
func IsNeg(x int64) bool { return x < 0 }

// Shifts tell whether Go sees the i32/i64 as signed or unsigned.
//
//go:wasmexport U32Shr
func U32Shr(x uint32) uint32 { return x >> 31 }

//go:wasmexport I32Shr
func I32Shr(x int32) int32 { return x >> 31 }

//go:wasmexport U64Shr
func U64Shr(x uint64) uint64 { return x >> 63 }

//go:wasmexport I64Shr
func I64Shr(x int64) int64 { return x >> 63 }

// Widening and narrowing inside Go.
//
//go:wasmexport I32ToI64
func I32ToI64(x int32) int64 { return int64(x) }

//go:wasmexport U32ToU64
func U32ToU64(x uint32) uint64 { return uint64(x) }

//go:wasmexport I64ToI32
func I64ToI32(x int64) int32 { return int32(x) }

//go:wasmexport U64ToU32
func U64ToU32(x uint64) uint32 { return uint32(x) }

// Wrap-around arithmetic.
//
//go:wasmexport AddU32
func AddU32(a, b uint32) uint32 { return a + b }

//go:wasmexport SubU64
func SubU64(a, b uint64) uint64 { return a - b }

//go:wasmexport MulU64
func MulU64(a, b uint64) uint64 { return a * b }

//go:wasmexport NegI32
func NegI32(x int32) int32 { return -x }

//go:wasmexport NegI64
func NegI64(x int64) int64 { return -x }

// Float bits, to see exactly what Go received or returns.
//
//go:wasmexport F64Bits
func F64Bits(x float64) uint64 { return math.Float64bits(x) }

//go:wasmexport F64FromBits
func F64FromBits(b uint64) float64 { return math.Float64frombits(b) }

//go:wasmexport F32Bits
func F32Bits(x float32) uint32 { return math.Float32bits(x) }

//go:wasmexport F32FromBits
func F32FromBits(b uint32) float32 { return math.Float32frombits(b) }

//go:wasmexport F64Neg
func F64Neg(x float64) float64 { return -x }

//go:wasmexport F32Neg
func F32Neg(x float32) float32 { return -x }

// Mixed parameter types in one signature, each returned through its own record_* call.
//
//go:wasmexport Mixed
func Mixed(a int32, b int64, c float32, d float64, e bool, f uint32, g uint64) int32 {
	recordI32(a)
	recordI64(b)
	recordF32(c)
	recordF64(d)
	if e {
		recordI32(1)
	} else {
		recordI32(0)
	}
	recordU32(f)
	recordU64(g)
	return 7
}

// ---- uintptr and unsafe.Pointer (item 15): a wasm i32, zero-extended into Go's 64-bit uintptr ----

//go:wasmexport EchoUintptr
func EchoUintptr(u uintptr) uintptr { return u }

//go:wasmexport UintptrToU64
func UintptrToU64(u uintptr) uint64 { return uint64(u) }

// HighUintptr returns a uintptr above 4 GiB: only the low 32 bits reach the host.
//
//go:wasmexport HighUintptr
func HighUintptr() uintptr { return 1<<32 + 5 }

//go:wasmexport EchoPtr
func EchoPtr(p unsafe.Pointer) unsafe.Pointer { return p }

//go:wasmexport PtrIsNil
func PtrIsNil(p unsafe.Pointer) bool { return p == nil }

// ---- linear memory shared with the host ----

// scratchAddr is inside the 8 KiB that Go's linker reserves after the zero page for wasm_exec.js
// (cmd/link/internal/ld/data.go, wasmMinDataAddr); nothing uses it under wasip1, so the host can
// put data there and pass its literal address to pointer and string parameters.
const scratchAddr = 0x2000

// Scratch returns scratchAddr, for read_memory/write_memory steps (`at = "result:K"`).
//
//go:wasmexport Scratch
func Scratch() uintptr { return scratchAddr }

var buf [16]byte

// BufAddr returns the address of a package-level buffer.
//
//go:wasmexport BufAddr
func BufAddr() unsafe.Pointer { return unsafe.Pointer(&buf) }

// BufSum returns the sum of the buffer's bytes, as Go sees them.
//
//go:wasmexport BufSum
func BufSum() int32 {
	var s int32
	for _, b := range buf {
		s += int32(b)
	}
	return s
}

// FillBuf writes seed, seed+1, ... into the buffer.
//
//go:wasmexport FillBuf
func FillBuf(seed int32) {
	for i := range buf {
		buf[i] = byte(seed + int32(i))
	}
}

var counter int32 = 0x01020304

// CounterPtr returns a pointer to an int32 (a pointer result).
//
//go:wasmexport CounterPtr
func CounterPtr() *int32 { return &counter }

//go:wasmexport Counter
func Counter() int32 { return counter }

// Inner and Record use the host's C-like layout: fields in order, each at its natural alignment.
type Inner struct {
	_ structs.HostLayout
	X int16
	Y uint8
	Z bool
}

type Record struct {
	_   structs.HostLayout
	A   int32     // offset 0
	B   int64     // offset 8
	C   float32   // offset 16
	D   float64   // offset 24
	In  Inner     // offset 32: X 32, Y 34, Z 35
	Arr [3]uint16 // offset 36
	U8  uint8     // offset 42; size 48
}

var rec = Record{A: 0x01020304, B: -2, C: 1.5, D: -0.25, In: Inner{X: -3, Y: 200, Z: true}, Arr: [3]uint16{1, 2, 0xffff}, U8: 7}

// RecordPtr returns a pointer to a HostLayout struct.
//
//go:wasmexport RecordPtr
func RecordPtr() *Record { return &rec }

// RecordSize returns unsafe.Sizeof(Record{}).
//
//go:wasmexport RecordSize
func RecordSize() int32 { return int32(unsafe.Sizeof(Record{})) }

func recordFields(r *Record) {
	recordI32(r.A)
	recordI64(r.B)
	recordF32(r.C)
	recordF64(r.D)
	recordI32(int32(r.In.X))
	recordI32(int32(r.In.Y))
	if r.In.Z {
		recordI32(1)
	} else {
		recordI32(0)
	}
	for _, v := range r.Arr {
		recordI32(int32(v))
	}
	recordI32(int32(r.U8))
}

// LogRecord reports every field of the package record through record_* calls.
//
//go:wasmexport LogRecord
func LogRecord() { recordFields(&rec) }

// DivModResult carries two results through memory: an export has at most one result.
type DivModResult struct {
	_   structs.HostLayout
	Quo int32
	Rem int32
}

var divmod DivModResult

//go:wasmexport DivMod
func DivMod(a, b int32) *DivModResult {
	divmod.Quo, divmod.Rem = a/b, a%b
	return &divmod
}

// ---- pointer parameters (item 15, 17): the host passes an address it wrote ----

//go:wasmexport DerefI32
func DerefI32(p *int32) int32 { return *p }

//go:wasmexport StoreI64
func StoreI64(p *int64, v int64) { *p = v }

//go:wasmexport SumArr
func SumArr(p *[4]int32) int32 { return p[0] + p[1] + p[2] + p[3] }

// ReadRecord reports the fields of a Record the host laid out in memory.
//
//go:wasmexport ReadRecord
func ReadRecord(p *Record) { recordFields(p) }

//go:wasmexport EmptyStructIsNil
func EmptyStructIsNil(p *struct{}) bool { return p == nil }

//go:wasmexport BoolAt
func BoolAt(p *bool) bool { return *p }

// ---- string parameters (accepted on exports: a (pointer, length) pair of i32) ----

//go:wasmexport StrLen
func StrLen(s string) int32 { return int32(len(s)) }

//go:wasmexport StrLog
func StrLog(s string) { hostLog(s) }

//go:wasmexport StrIsHello
func StrIsHello(s string) bool { return s == "hello" }

// ---- passing values to host imports (item 17, accepted side) ----

// ImportBool passes a bool to echo_i32 and returns what came back.
//
//go:wasmexport ImportBool
func ImportBool(b bool) bool { return echoBool(b) }

// ImportBoolLowByte gets a bool result from echo_i32 returning x: Go keeps x's low byte.
//
//go:wasmexport ImportBoolLowByte
func ImportBoolLowByte(x int32) bool { return echoI32AsBool(x) }

// ImportStrings passes strings to log: empty, escaped characters, non-ASCII UTF-8, and a
// substring that does not start at its backing array's start.
//
//go:wasmexport ImportStrings
func ImportStrings() {
	hostLog("")
	hostLog("plain")
	hostLog("say \"hi\"\tand\\or\n")
	hostLog("h\u00e9llo, \u4e16\u754c")
	long := "0123456789abcdef"
	hostLog(long[3:7])
}

// ImportInc passes *int32 pointers (to a stack variable and to a struct field) to inc_i32, which
// writes back value+1.
//
//go:wasmexport ImportInc
func ImportInc(start int32) int32 {
	n := start
	incI32(&n)
	incI32(&n)
	incI32(&rec.A)
	return n
}

// ImportRecordDump passes a pointer to the HostLayout record and its size to mem_dump.
//
//go:wasmexport ImportRecordDump
func ImportRecordDump() { memDump(&rec, uint32(unsafe.Sizeof(rec))) }

// ImportRecordXor lets the host XOR every byte of the record, then reports what Go now sees.
//
//go:wasmexport ImportRecordXor
func ImportRecordXor(mask int32) {
	memXor(&rec, uint32(unsafe.Sizeof(rec)), mask)
	recordFields(&rec)
}

// ImportScalars passes unsigned values, extremes and NaN payloads to record_* and echo_*.
//
//go:wasmexport ImportScalars
func ImportScalars() {
	recordU32(math.MaxUint32)
	recordI32(math.MinInt32)
	recordU64(math.MaxUint64)
	recordI64(math.MinInt64)
	recordF32(math.Float32frombits(0x7fa00001))
	recordF64(math.Float64frombits(0x7ff4000000000001))
	recordF64(math.Copysign(0, -1))
	recordU64(echoU64(1<<63 + 1))
	recordU32(math.Float32bits(echoF32(math.Float32frombits(0xffa00002))))
	recordU64(math.Float64bits(echoF64(math.Float64frombits(0xfff0000000000123))))
}
