// Guest "hostlayout": structs laid out with structs.HostLayout, shared with the host in both
// directions (ABI item 17, accepted side): nested HostLayout structs, arrays of scalars, of bools
// and of HostLayout structs, read and written by the host through pointers that exports return or
// take, and passed by pointer to host imports that dump or rewrite them. Also bool's low byte in
// every position (item 16: parameters, results, struct fields written by the host) and unsigned
// extremes and NaN payloads in parameters, results, struct fields and import arguments (item 20).
// Floats are reported to the host as their bits through integer imports, so what the host sees
// never depends on a float crossing a JavaScript boundary.
package main

import (
	"math"
	"structs"
	"unsafe"
)

func main() {}

// ---- host imports ----

//go:wasmimport harness record_i32
func recordI32(x int32)

//go:wasmimport harness record_i32
func recordU32(x uint32)

//go:wasmimport harness record_i64
func recordU64(x uint64)

//go:wasmimport harness record_f32
func recordF32(x float32)

//go:wasmimport harness record_f64
func recordF64(x float64)

//go:wasmimport harness echo_i32
func echoU32(x uint32) uint32

//go:wasmimport harness echo_i64
func echoU64(x uint64) uint64

//go:wasmimport harness echo_f32
func echoF32(x float32) float32

//go:wasmimport harness echo_f64
func echoF64(x float64) float64

// echo_i32 declared with bool parameter and result: the byte Go holds goes out, the low byte of
// what comes back is kept.
//
//go:wasmimport harness echo_i32
func echoBool(b bool) bool

//go:wasmimport harness mem_dump
func dumpSample(p *Sample, n uint32)

//go:wasmimport harness mem_dump
func dumpVecs(p *[2]Vec3, n uint32)

//go:wasmimport harness mem_dump
func dumpFlags(p *Flags, n uint32)

//go:wasmimport harness mem_xor
func xorSample(p *Sample, n uint32, mask int32)

//go:wasmimport harness mem_xor
func xorVec(p *Vec3, n uint32, mask int32)

// ---- the layouts ----

// Vec3 is 12 bytes, 4-aligned.
type Vec3 struct {
	_       structs.HostLayout
	X, Y, Z float32
}

// Flags is 4 bytes of bools.
type Flags struct {
	_    structs.HostLayout
	On   bool
	Bits [3]bool
}

// Sample uses the host's C-like layout: fields in order, each at its natural alignment.
type Sample struct {
	_     structs.HostLayout
	ID    uint16   // 0
	Kind  int8     // 2
	Ok    bool     // 3
	Count uint32   // 4
	Total uint64   // 8
	Pos   Vec3     // 16
	F32   float32  // 28
	F64   float64  // 32
	Flags Flags    // 40
	Hist  [4]int16 // 44
	Pts   [2]Vec3  // 52
	Tail  uint8    // 76; size 80
}

var sample = Sample{
	ID:    0xbeef,
	Kind:  -2,
	Ok:    true,
	Count: math.MaxUint32 - 1,
	Total: 1<<63 | 1,
	Pos:   Vec3{X: 1, Y: -2, Z: 0.5},
	F32:   math.Float32frombits(0x7f800001), // a signalling NaN with payload 1
	F64:   math.Float64frombits(0xfff0000000000abc),
	Flags: Flags{On: true, Bits: [3]bool{true, false, true}},
	Hist:  [4]int16{-1, 2, math.MinInt16, math.MaxInt16},
	Pts:   [2]Vec3{{Y: 3, Z: 4}, {X: 5, Y: 6, Z: float32(math.Inf(-1))}},
	Tail:  0xff,
}

func init() {
	// A constant -0.0 is +0 in Go; the sign bit is set at run time.
	sample.Pts[0].X = float32(math.Copysign(0, -1))
}

// ---- addresses, sizes and offsets ----

//go:wasmexport SamplePtr
func SamplePtr() *Sample { return &sample }

// PosPtr returns an interior pointer: the nested struct inside sample.
//
//go:wasmexport PosPtr
func PosPtr() *Vec3 { return &sample.Pos }

// PtsPtr returns a pointer to the array of structs inside sample.
//
//go:wasmexport PtsPtr
func PtsPtr() *[2]Vec3 { return &sample.Pts }

// FlagsPtr returns a pointer to the bools inside sample.
//
//go:wasmexport FlagsPtr
func FlagsPtr() *Flags { return &sample.Flags }

// Layout reports sizes and offsets: Sample's size and every field's offset, Vec3's and Flags'
// sizes, and the distances of the interior pointers from &sample.
//
//go:wasmexport Layout
func Layout() {
	s := &sample
	recordI32(int32(unsafe.Sizeof(*s)))
	for _, off := range []uintptr{
		unsafe.Offsetof(s.ID), unsafe.Offsetof(s.Kind), unsafe.Offsetof(s.Ok), unsafe.Offsetof(s.Count),
		unsafe.Offsetof(s.Total), unsafe.Offsetof(s.Pos), unsafe.Offsetof(s.F32), unsafe.Offsetof(s.F64),
		unsafe.Offsetof(s.Flags), unsafe.Offsetof(s.Hist), unsafe.Offsetof(s.Pts), unsafe.Offsetof(s.Tail),
	} {
		recordI32(int32(off))
	}
	recordI32(int32(unsafe.Sizeof(Vec3{})))
	recordI32(int32(unsafe.Sizeof(Flags{})))
	base := uintptr(unsafe.Pointer(s))
	recordI32(int32(uintptr(unsafe.Pointer(&s.Pos.Z)) - base))
	recordI32(int32(uintptr(unsafe.Pointer(&s.Flags.Bits[2])) - base))
	recordI32(int32(uintptr(unsafe.Pointer(&s.Pts[1].Y)) - base))
}

// ---- Go reads what the host wrote ----

func byteOf(b *bool) int32 { return int32(*(*uint8)(unsafe.Pointer(b))) }

// truth is the idiom "1 if b else 0". Go compiles it to a zero-extension of the bool's byte, so
// for a byte other than 0 or 1 it returns that byte.
func truth(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// branch tells the host which branch Go takes for b; the calls keep it a real branch.
func branch(b bool) {
	if b {
		recordI32(1)
	} else {
		recordI32(0)
	}
}

func reportVec(v *Vec3) {
	recordU32(math.Float32bits(v.X))
	recordU32(math.Float32bits(v.Y))
	recordU32(math.Float32bits(v.Z))
}

// report records every field of s: integers as values, floats as their bits, bools as the byte
// Go holds.
func report(s *Sample) {
	recordI32(int32(s.ID))
	recordI32(int32(s.Kind))
	recordI32(byteOf(&s.Ok))
	recordU32(s.Count)
	recordU64(s.Total)
	reportVec(&s.Pos)
	recordU32(math.Float32bits(s.F32))
	recordU64(math.Float64bits(s.F64))
	recordI32(byteOf(&s.Flags.On))
	for i := range s.Flags.Bits {
		recordI32(byteOf(&s.Flags.Bits[i]))
	}
	for _, h := range s.Hist {
		recordI32(int32(h))
	}
	for i := range s.Pts {
		reportVec(&s.Pts[i])
	}
	recordI32(int32(s.Tail))
}

// Report records every field of the package sample.
//
//go:wasmexport Report
func Report() { report(&sample) }

// ReportAt records every field of a Sample the host laid out at p.
//
//go:wasmexport ReportAt
func ReportAt(p *Sample) { report(p) }

// SumHist sums the int16 array as Go sees it.
//
//go:wasmexport SumHist
func SumHist() int32 {
	var s int32
	for _, h := range sample.Hist {
		s += int32(h)
	}
	return s
}

// ---- Go writes what the host reads ----

// SetVec stores three floats into sample.Pts[i].
//
//go:wasmexport SetVec
func SetVec(i int32, x, y, z float32) {
	sample.Pts[i] = Vec3{X: x, Y: y, Z: z}
}

// SetScalars stores unsigned values and floats (NaN payloads included) from parameters.
//
//go:wasmexport SetScalars
func SetScalars(count uint32, total uint64, f32 float32, f64 float64) {
	sample.Count, sample.Total, sample.F32, sample.F64 = count, total, f32, f64
}

// ScaleVec doubles the vector at p, a pointer to a HostLayout struct the host passes.
//
//go:wasmexport ScaleVec
func ScaleVec(p *Vec3) {
	p.X, p.Y, p.Z = p.X*2, p.Y*2, p.Z*2
}

// CopyPts copies the two vectors at p into sample.Pts (an array of HostLayout structs by pointer).
//
//go:wasmexport CopyPts
func CopyPts(p *[2]Vec3) { sample.Pts = *p }

// ---- results read from struct fields ----

//go:wasmexport Count
func Count() uint32 { return sample.Count }

//go:wasmexport Total
func Total() uint64 { return sample.Total }

//go:wasmexport F32
func F32() float32 { return sample.F32 }

//go:wasmexport F64
func F64() float64 { return sample.F64 }

//go:wasmexport F32Bits
func F32Bits() uint32 { return math.Float32bits(sample.F32) }

//go:wasmexport Hist
func Hist(i int32) int32 { return int32(sample.Hist[i]) }

// ---- bools ----

// BoolByte returns the byte Go holds for a bool parameter (the i32's low byte).
//
//go:wasmexport BoolByte
func BoolByte(b bool) int32 { return byteOf(&b) }

// BoolTruth returns truth(b).
//
//go:wasmexport BoolTruth
func BoolTruth(b bool) int32 { return truth(b) }

// BoolBranch records 1 if Go takes the true branch for b, else 0.
//
//go:wasmexport BoolBranch
func BoolBranch(b bool) { branch(b) }

// EchoBool returns its parameter: the bool result is the byte Go holds.
//
//go:wasmexport EchoBool
func EchoBool(b bool) bool { return b }

// NotBool returns !b, which Go computes as "byte == 0".
//
//go:wasmexport NotBool
func NotBool(b bool) bool { return !b }

// BoolEq compares two bools as Go does: byte for byte.
//
//go:wasmexport BoolEq
func BoolEq(a, b bool) bool { return a == b }

// StoreFlag stores a bool parameter into sample.Flags.Bits[i]: the host sees the byte.
//
//go:wasmexport StoreFlag
func StoreFlag(i int32, b bool) { sample.Flags.Bits[i] = b }

// SetOk stores a bool parameter into sample.Ok.
//
//go:wasmexport SetOk
func SetOk(b bool) { sample.Ok = b }

// Flag returns sample.Flags.Bits[i] as a bool result.
//
//go:wasmexport Flag
func Flag(i int32) bool { return sample.Flags.Bits[i] }

// FlagTruths ORs truth(flag) shifted by its position (On 0, Bits[i] i+1): a bit mask of the
// flags when they hold 0 or 1.
//
//go:wasmexport FlagTruths
func FlagTruths() int32 {
	f := &sample.Flags
	m := truth(f.On)
	for i, b := range f.Bits {
		m |= truth(b) << (i + 1)
	}
	return m
}

// FlagBranches records, for every flag, which branch Go takes.
//
//go:wasmexport FlagBranches
func FlagBranches() {
	f := &sample.Flags
	branch(f.On)
	for _, b := range f.Bits {
		branch(b)
	}
}

// NegateFlags replaces every flag with !flag.
//
//go:wasmexport NegateFlags
func NegateFlags() {
	f := &sample.Flags
	f.On = !f.On
	for i := range f.Bits {
		f.Bits[i] = !f.Bits[i]
	}
}

// FlagsToHost passes every flag to echo_i32 as a bool and stores back what returns.
//
//go:wasmexport FlagsToHost
func FlagsToHost() {
	f := &sample.Flags
	f.On = echoBool(f.On)
	for i := range f.Bits {
		f.Bits[i] = echoBool(f.Bits[i])
	}
}

// ---- the struct through host imports ----

//go:wasmexport DumpSample
func DumpSample() { dumpSample(&sample, uint32(unsafe.Sizeof(sample))) }

// DumpParts dumps the array of structs and the nested bools separately.
//
//go:wasmexport DumpParts
func DumpParts() {
	dumpVecs(&sample.Pts, uint32(unsafe.Sizeof(sample.Pts)))
	dumpFlags(&sample.Flags, uint32(unsafe.Sizeof(sample.Flags)))
}

// XorSample lets the host XOR every byte of sample, then reports what Go sees.
//
//go:wasmexport XorSample
func XorSample(mask int32) {
	xorSample(&sample, uint32(unsafe.Sizeof(sample)), mask)
	report(&sample)
}

// XorPos lets the host rewrite only the nested Pos struct through an interior pointer.
//
//go:wasmexport XorPos
func XorPos(mask int32) {
	xorVec(&sample.Pos, uint32(unsafe.Sizeof(sample.Pos)), mask)
	reportVec(&sample.Pos)
}

// ScalarsToHost passes struct fields to the host as import arguments (unsigned values as the raw
// i32/i64, floats as f32/f64 values), stores what the echo imports return back into the struct,
// and records the bits Go got back.
//
//go:wasmexport ScalarsToHost
func ScalarsToHost() {
	s := &sample
	recordU32(s.Count)
	recordU64(s.Total)
	recordF64(s.F64)
	s.Count = echoU32(s.Count + 2)
	s.Total = echoU64(s.Total - 2)
	s.F64 = echoF64(s.F64)
	recordU64(math.Float64bits(s.F64))
}

// F32ToHost passes sample.F32 to record_f32 and echo_f32 and stores the echo back.
//
//go:wasmexport F32ToHost
func F32ToHost() {
	recordF32(sample.F32)
	sample.F32 = echoF32(sample.F32)
	recordU32(math.Float32bits(sample.F32))
}
