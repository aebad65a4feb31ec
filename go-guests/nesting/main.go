// Guest "nesting": exports nested inside exports through the `harness.reenter` host import
// (ABI items 13 and 14). Nested exports that switch goroutines, several levels deep, on the
// outer export's goroutine or on goroutines it started; nested exports that park and are resumed
// in LIFO order; the out-of-order case (a nested export parks and the outer export's goroutine is
// resumed first); and a nested export that exits, deadlocks, or panics into a recover.
// Every ordering is fixed by channels and Gosched hand-offs, never by timing.
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

//go:wasmimport harness log
func hostLog(s string)

//go:wasmimport harness record_i64
func recordI64(x int64)

//go:wasmimport harness reenter
func reenter(name string, arg int64) int64

func main() {}

// ---- LIFO completion with goroutine switches ----

// Level(n) starts a worker that sends n*10 on a channel, re-enters Level(n-1), and then receives
// from its own worker. Level 0 parks at once (its worker has not run); at every level above, the
// worker parked earlier on its send, so the receive resumes it. Every nested call switches
// goroutines and still completes before its caller.
//
//go:wasmexport Level
func Level(n int64) int64 {
	hostLog(fmt.Sprintf("level %d: enter", n))
	ch := make(chan int64)
	go func() {
		hostLog(fmt.Sprintf("level %d: worker", n))
		ch <- n * 10
	}()
	var inner int64
	if n > 0 {
		inner = reenter("Level", n-1)
	}
	v := <-ch
	hostLog(fmt.Sprintf("level %d: exit", n))
	return inner + v + 1
}

// Chain(n) re-enters Chain(n-1) from a goroutine it starts and waits for that goroutine: every
// nested export runs on the stack of a different goroutine, and each level parks until the level
// it started has returned.
//
//go:wasmexport Chain
func Chain(n int64) int64 {
	if n == 0 {
		hostLog("chain 0: yield")
		runtime.Gosched()
		return 1
	}
	done := make(chan int64)
	go func() {
		r := reenter("Chain", n-1)
		hostLog(fmt.Sprintf("chain %d: nested returned %d", n, r))
		done <- r
	}()
	hostLog(fmt.Sprintf("chain %d: waiting", n))
	return <-done * 2
}

// ---- nested exports that park and are resumed in order ----

// ParkNested parks on a channel that a goroutine it started fills, then returns.
//
//go:wasmexport ParkNested
func ParkNested(x int64) int64 {
	ch := make(chan int64)
	go func() {
		hostLog("feeder: send")
		ch <- x * 2
	}()
	hostLog("nested: parking")
	v := <-ch
	hostLog("nested: resumed")
	return v
}

// InOrder's goroutine re-enters ParkNested while the export's own goroutine waits for that
// goroutine: the nested export parks, is resumed and returns first, then the outer export.
//
//go:wasmexport InOrder
func InOrder(x int64) int64 {
	done := make(chan int64)
	go func() {
		hostLog("g: reenter")
		r := reenter("ParkNested", x)
		hostLog("g: nested returned")
		done <- r
	}()
	hostLog("outer: waiting")
	r := <-done
	hostLog("outer: resumed")
	return r + 1
}

// TimerNested waits for a goroutine that sleeps 5 ms before it sends: the pending timer, not a
// deadlock, is what the nested export waits on.
//
//go:wasmexport TimerNested
func TimerNested(x int64) int64 {
	ch := make(chan int64)
	go func() {
		time.Sleep(5 * time.Millisecond)
		hostLog("sleeper: send")
		ch <- x + 100
	}()
	hostLog("nested: waiting for the timer")
	return <-ch
}

// OuterTimer re-enters TimerNested directly.
//
//go:wasmexport OuterTimer
func OuterTimer(x int64) int64 {
	r := reenter("TimerNested", x)
	hostLog("outer: after")
	return r
}

// SpawnNested starts a goroutine and returns without a scheduling point.
//
//go:wasmexport SpawnNested
func SpawnNested() {
	go hostLog("spawned by the nested export")
	hostLog("nested: returns")
}

// OuterYieldAfter re-enters SpawnNested, then yields: the goroutine the nested export left behind
// runs in the outer export.
//
//go:wasmexport OuterYieldAfter
func OuterYieldAfter() {
	reenter("SpawnNested", 0)
	hostLog("outer: yield")
	runtime.Gosched()
	hostLog("outer: after")
}

// ---- the out-of-order case (item 14) ----

var outerWake = make(chan int64)
var nestedWake = make(chan int64)

// WakeOuterThenPark readies the outer export's goroutine, then parks.
//
//go:wasmexport WakeOuterThenPark
func WakeOuterThenPark(x int64) int64 {
	hostLog("nested: waking the outer export")
	outerWake <- x
	hostLog("nested: parking")
	return <-nestedWake
}

// OutOfOrder waits while a goroutine it started re-enters WakeOuterThenPark. The nested export
// wakes the outer export's goroutine and parks: the scheduler resumes the outer export, which
// returns while the nested export is still on the wasm stack above it.
//
//go:wasmexport OutOfOrder
func OutOfOrder(x int64) int64 {
	go func() {
		hostLog("g: reenter")
		r := reenter("WakeOuterThenPark", x)
		hostLog(fmt.Sprint("g: nested returned ", r))
	}()
	hostLog("outer: waiting")
	r := <-outerWake
	hostLog("outer: resumed")
	return r + 1
}

// ---- nested exports that end the module ----

// ExitNested calls os.Exit(code) inside a nested export.
//
//go:wasmexport ExitNested
func ExitNested(code int32) {
	defer hostLog("nested: deferred must not run")
	hostLog("nested: exiting")
	fmt.Print("nested bye")
	os.Exit(int(code))
}

// OuterExit re-enters ExitNested.
//
//go:wasmexport OuterExit
func OuterExit(code int64) int64 {
	defer hostLog("outer: deferred must not run")
	reenter("ExitNested", code)
	hostLog("outer: unreachable")
	return 0
}

// DeadlockNested blocks on a channel nothing will send on.
//
//go:wasmexport DeadlockNested
func DeadlockNested() {
	hostLog("nested: blocking forever")
	<-make(chan int)
}

// OuterDeadlock re-enters DeadlockNested.
//
//go:wasmexport OuterDeadlock
func OuterDeadlock() {
	hostLog("outer: calling DeadlockNested")
	reenter("DeadlockNested", 0)
	hostLog("outer: unreachable")
}

// Boom panics.
//
//go:wasmexport Boom
func Boom() {
	panic("nested boom")
}

// OuterRecover re-enters Boom with a deferred recover in its own frame, below the host's frames.
//
//go:wasmexport OuterRecover
func OuterRecover() (res int64) {
	defer func() {
		r := recover()
		hostLog(fmt.Sprint("outer: recovered ", r))
		res = -1
	}()
	reenter("Boom", 0)
	hostLog("outer: unreachable")
	return 0
}

// Counter counts calls, so the scenarios can tell whether the module still works.
var counter int64

//go:wasmexport Incr
func Incr() int64 {
	counter++
	return counter
}

// OutOfOrderI32 is OutOfOrder with an (i32) -> i32 signature, the wasm type of the Go functions
// that wasm_pc_f_loop_export calls indirectly, so the indirect call type-checks. The scenarios
// call it with 4; if it finds itself running with 1 (the loop's "unwinding" flag passed where its
// parameter goes), it stops the module at once through a host error (a re-entry of an export that
// does not exist) instead of letting the loop run it again and again.
//
//go:wasmexport OutOfOrderI32
func OutOfOrderI32(x int32) int32 {
	if x == 1 {
		hostLog("outer: running again, with 1")
		reenter("NoSuchExport", 0)
	}
	go func() {
		hostLog("g: reenter")
		r := reenter("WakeOuterThenPark", int64(x))
		hostLog(fmt.Sprint("g: nested returned ", r))
	}()
	hostLog("outer: waiting")
	r := <-outerWake
	hostLog("outer: resumed")
	return int32(r) + 1
}
