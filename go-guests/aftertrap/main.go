// Guest "aftertrap": what is left of a reactor after a trap or an exit (ABI item 23). A correct
// host discards the instance, and the harness does too: steps after a trap are not run unless a
// scenario says after_trap on purpose. The traps here are an unrecovered panic (unreachable), a
// wasm memory fault that Go never sees (an out-of-bounds load through unsafe), the deadlock fatal
// error, and os.Exit; the exports called afterwards are pure, allocate, print, or reach a
// scheduling point.
package main

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"
)

//go:wasmimport harness log
func hostLog(s string)

//go:wasmimport harness record_i32
func recordI32(x int32)

func main() {}

var counter int32

// Incr bumps a package counter: no allocation, no scheduling point.
//
//go:wasmexport Incr
func Incr() int32 {
	counter++
	return counter
}

// Add is pure.
//
//go:wasmexport Add
func Add(a, b int32) int32 { return a + b }

var kept []string

// Alloc allocates a string on the heap, keeps it, and logs it.
//
//go:wasmexport Alloc
func Alloc(n int32) int32 {
	s := fmt.Sprintf("alloc %d", n)
	kept = append(kept, s)
	hostLog(s)
	return int32(len(kept))
}

// Print writes a line to stdout through fmt (the fd_write WASI import).
//
//go:wasmexport Print
func Print(n int32) {
	fmt.Println("print", n)
}

// Yield is a scheduling point.
//
//go:wasmexport Yield
func Yield() {
	hostLog("yield: before")
	runtime.Gosched()
	hostLog("yield: after")
}

// Spawn starts a goroutine and hands it the processor.
//
//go:wasmexport Spawn
func Spawn() int32 {
	done := make(chan int32)
	go func() {
		hostLog("worker: ran")
		done <- 7
	}()
	return <-done
}

// GC runs a full garbage collection, which scans every goroutine's stack.
//
//go:wasmexport GC
func GC() int32 {
	hostLog("gc: start")
	runtime.GC()
	hostLog("gc: done")
	return int32(len(kept))
}

// Panic panics; nothing recovers it.
//
//go:wasmexport Panic
func Panic() {
	hostLog("panicking")
	panic("aftertrap boom")
}

// Load reads an int32 at addr: an address beyond linear memory is a wasm out-of-bounds trap that
// the Go runtime never sees (only nil is checked).
//
//go:wasmexport Load
func Load(addr uint32) int32 {
	hostLog("loading")
	return *(*int32)(unsafe.Add(unsafe.Pointer(nil), addr))
}

// Deadlock blocks on a channel nothing will send on.
//
//go:wasmexport Deadlock
func Deadlock() {
	hostLog("blocking forever")
	<-make(chan int)
}

// Exit calls os.Exit(code).
//
//go:wasmexport Exit
func Exit(code int32) {
	hostLog("exiting")
	os.Exit(int(code))
}
