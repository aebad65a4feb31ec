// Guest "goroutines": how Go's scheduler behaves inside and between export calls of a reactor:
// hand-offs within one call, goroutines parked across calls, time.Sleep, deadlock, a goroutine
// that never yields, and re-entrancy through the `harness.reenter` host import.
// Outputs are ordered by causality (channels, Gosched hand-offs, wide sleep margins), so they do
// not depend on timing.
package main

import (
	"runtime"
	"time"
)

//go:wasmimport harness log
func hostLog(s string)

//go:wasmimport harness record_i32
func recordI32(x int32)

//go:wasmimport harness reenter
func reenter(name string, arg int64) int64

func main() {}

// initReenter is computed inside _initialize by calling back into an export through the host.
var initReenter = reenter("Double", 4)

// InitReenter returns what the re-entrant call made during init returned.
//
//go:wasmexport InitReenter
func InitReenter() int64 { return initReenter }

// Noop has no scheduling point: no other goroutine can run during it.
//
//go:wasmexport Noop
func Noop() { hostLog("noop") }

// Yield is a scheduling point.
//
//go:wasmexport Yield
func Yield() {
	hostLog("yield: before")
	runtime.Gosched()
	hostLog("yield: after")
}

var spawned int32

// SpawnGosched starts a goroutine and hands it the processor with runtime.Gosched.
//
//go:wasmexport SpawnGosched
func SpawnGosched() int32 {
	hostLog("main: spawn")
	go func() {
		hostLog("worker: ran")
		spawned++
	}()
	hostLog("main: gosched")
	runtime.Gosched()
	hostLog("main: resumed")
	return spawned
}

// SpawnNoYield starts a goroutine and returns without a scheduling point: the goroutine has not
// run when the call returns.
//
//go:wasmexport SpawnNoYield
func SpawnNoYield() int32 {
	go func() {
		hostLog("late worker: ran")
		spawned++
	}()
	hostLog("spawned")
	return spawned
}

// Spawned returns how many spawned goroutines have run so far.
//
//go:wasmexport Spawned
func Spawned() int32 { return spawned }

// PingPong passes a token n times between the export's goroutine and a worker over unbuffered
// channels; every hand-off parks one goroutine and resumes the other within this one call.
//
//go:wasmexport PingPong
func PingPong(n int32) int32 {
	ping, pong := make(chan int32), make(chan int32)
	go func() {
		for v := range ping {
			recordI32(v * 10)
			pong <- v*10 + 1
		}
		hostLog("worker: ping closed")
		close(pong)
	}()
	var sum int32
	for i := int32(0); i < n; i++ {
		ping <- i
		r := <-pong
		recordI32(r)
		sum += r
	}
	close(ping)
	_, ok := <-pong // wait for the worker to see the close
	if ok {
		return -1
	}
	return sum
}

// Pipeline pushes n values through three stages of goroutines and sums what comes out.
//
//go:wasmexport Pipeline
func Pipeline(n int32) int64 {
	src, mid, out := make(chan int64), make(chan int64, 2), make(chan int64)
	go func() {
		for v := range src {
			mid <- v * v
		}
		close(mid)
	}()
	go func() {
		for v := range mid {
			out <- v + 1
		}
		close(out)
	}()
	go func() {
		for i := int64(1); i <= int64(n); i++ {
			src <- i
		}
		close(src)
	}()
	var sum int64
	for v := range out {
		sum += v
	}
	return sum
}

var parkCh = make(chan int32)

// StartParked starts a goroutine that waits on parkCh across calls.
//
//go:wasmexport StartParked
func StartParked() {
	go func() {
		hostLog("parked: waiting")
		for v := range parkCh {
			recordI32(v)
		}
	}()
	runtime.Gosched()
	hostLog("start: returns")
}

// Send hands v to the parked goroutine. The receiver was waiting, so the send completes without
// this goroutine blocking; the receiver becomes runnable but only runs at a later scheduling point.
//
//go:wasmexport Send
func Send(v int32) {
	parkCh <- v
	hostLog("send: done")
}

// StartSleeper starts a goroutine that sleeps 50 ms and then logs; the call returns at once.
// The timer is long enough that even an interpreter finishes this call before it fires (with
// 1 ms, wasmtime's Pulley interpreter reached the scheduler after the deadline and the sleeper
// woke inside this call).
//
//go:wasmexport StartSleeper
func StartSleeper() {
	go func() {
		time.Sleep(50 * time.Millisecond)
		hostLog("sleeper: woke")
	}()
	runtime.Gosched() // let it start and park on its timer
	hostLog("sleeper started")
}

// Sleep sleeps ms milliseconds inside the export.
//
//go:wasmexport Sleep
func Sleep(ms int32) {
	hostLog("sleep: start")
	time.Sleep(time.Duration(ms) * time.Millisecond)
	hostLog("sleep: end")
}

// SleepAtLeast reports whether time.Sleep(ms) took at least ms by the monotonic clock.
//
//go:wasmexport SleepAtLeast
func SleepAtLeast(ms int32) bool {
	d := time.Duration(ms) * time.Millisecond
	start := time.Now()
	time.Sleep(d)
	return time.Since(start) >= d
}

// SleepWhileWorking sleeps 20 ms while a worker goroutine runs three Gosched-separated steps.
//
//go:wasmexport SleepWhileWorking
func SleepWhileWorking() int32 {
	var done int32
	go func() {
		for i := int32(0); i < 3; i++ {
			recordI32(i)
			runtime.Gosched()
		}
		done = 1
	}()
	hostLog("sleep: start")
	time.Sleep(20 * time.Millisecond)
	hostLog("sleep: end")
	return done
}

// TimerWakes blocks on a channel that only a sleeping goroutine will send on: the pending timer
// keeps the runtime from declaring a deadlock.
//
//go:wasmexport TimerWakes
func TimerWakes() int32 {
	ch := make(chan int32)
	go func() {
		time.Sleep(2 * time.Millisecond)
		ch <- 7
	}()
	return <-ch
}

// Deadlock blocks on a channel nothing will ever send on.
//
//go:wasmexport Deadlock
func Deadlock() {
	hostLog("blocking forever")
	<-make(chan int)
}

// DeadlockAfterWorker blocks forever, but a runnable goroutine runs before the verdict.
//
//go:wasmexport DeadlockAfterWorker
func DeadlockAfterWorker() {
	ch := make(chan int)
	go func() {
		hostLog("worker: ran")
	}()
	hostLog("blocking forever")
	<-ch
}

var spinCount uint64

// Spin starts a goroutine that never yields, then parks: the spinner takes the only thread and
// the call never returns. Hosts must bound it.
//
//go:wasmexport Spin
func Spin() {
	go func() {
		for {
			spinCount++
		}
	}()
	hostLog("spin: yielding")
	runtime.Gosched()
	hostLog("spin: unreachable")
}

// Double is a plain export for the host to call while another export is on the stack.
//
//go:wasmexport Double
func Double(x int64) int64 { return 2 * x }

// Outer calls Double through the host and adds one.
//
//go:wasmexport Outer
func Outer(x int64) int64 {
	hostLog("outer: before")
	r := reenter("Double", x)
	hostLog("outer: after")
	return r + 1
}

// NestedChan parks on a channel inside a nested export: its result comes from another goroutine.
//
//go:wasmexport NestedChan
func NestedChan(x int64) int64 {
	ch := make(chan int64)
	go func() { ch <- x * 3 }()
	return <-ch
}

// OuterChan re-enters NestedChan.
//
//go:wasmexport OuterChan
func OuterChan(x int64) int64 {
	return reenter("NestedChan", x) + 1
}

// NestedYield yields inside a nested export, so goroutines started by the outer export run there.
//
//go:wasmexport NestedYield
func NestedYield() int32 {
	hostLog("nested: before")
	runtime.Gosched()
	hostLog("nested: after")
	return 5
}

// OuterYield starts a goroutine, then re-enters NestedYield, whose Gosched runs it.
//
//go:wasmexport OuterYield
func OuterYield() int64 {
	hostLog("outer: start")
	go func() { hostLog("bg: ran") }()
	r := reenter("NestedYield", 0)
	hostLog("outer: after")
	return r
}

// Fact computes n! by re-entering itself through the host n-1 times.
//
//go:wasmexport Fact
func Fact(n int64) int64 {
	if n <= 1 {
		return 1
	}
	return n * reenter("Fact", n-1)
}

// Boom panics; re-entered from OuterBoom, the trap unwinds through the host import.
//
//go:wasmexport Boom
func Boom() {
	panic("nested boom")
}

// OuterBoom re-enters Boom.
//
//go:wasmexport OuterBoom
func OuterBoom() {
	hostLog("outer: calling Boom")
	reenter("Boom", 0)
	hostLog("outer: unreachable")
}
