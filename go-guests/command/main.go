// Guest "command": the command build shape (guest.toml: build = "command", a plain `go build`
// that exports _start and the //go:wasmexport functions; ABI item 7). _start runs package init and
// main.main; main returning ends it in proc_exit(0). Init and main can call back into the module's
// own exports through the `harness.reenter` host import (item 6, the command half). What main does
// is chosen by a mode byte the host writes into the scratch page before _start: return normally,
// os.Exit(3), panic, deadlock, Goexit, leave goroutines behind, re-enter an export that panics.
// Exports called after _start are unsupported by Go; the scenarios pin what really happens.
package main

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"
)

//go:wasmimport harness log
func hostLog(s string)

//go:wasmimport harness record_i64
func recordI64(x int64)

//go:wasmimport harness reenter
func reenter(name string, arg int64) int64

// scratchAddr is inside the 8 KiB that Go's linker reserves after the zero page for wasm_exec.js
// (cmd/link/internal/ld/data.go, wasmMinDataAddr); nothing writes there under wasip1, so the host
// can put the mode byte there before _start.
const scratchAddr = 0x2000

// The modes main understands (the byte at scratchAddr).
const (
	modeReturn       = 0 // log, re-enter exports, print, return
	modeExit         = 1 // os.Exit(3)
	modePanic        = 2 // an unrecovered panic
	modeDeadlock     = 3 // block on a channel nothing will send on
	modeLeftovers    = 4 // return while one goroutine is parked and one has not run yet
	modeGoexit       = 5 // runtime.Goexit in main
	modeReenterPanic = 6 // re-enter an export that panics
)

func mode() byte { return *(*byte)(unsafe.Add(unsafe.Pointer(nil), scratchAddr)) }

// initReenter is computed during package init, inside _start, by calling back into an export.
var initReenter = reenter("Double", 4)

// state is set by init and by main: exports called after _start see what was left.
var state int64

func init() {
	hostLog(fmt.Sprint("init: reenter gave ", initReenter))
	state = 1
}

func main() {
	hostLog(fmt.Sprint("main: mode ", mode()))
	state = 2
	switch mode() {
	case modeReturn:
		recordI64(reenter("Double", 21))
		recordI64(reenter("Handoff", 3))
		state = 3
		fmt.Println("main: done")
	case modeExit:
		defer hostLog("deferred must not run")
		fmt.Print("main: exiting")
		os.Exit(3)
	case modePanic:
		defer hostLog("deferred runs while panicking")
		panic("main panics")
	case modeDeadlock:
		hostLog("main: blocking forever")
		<-make(chan int)
	case modeLeftovers:
		parked := make(chan int)
		go func() {
			hostLog("parked: waiting")
			<-parked
			hostLog("parked: must not resume")
		}()
		runtime.Gosched()
		go hostLog("left runnable")
		hostLog("main: returns")
	case modeGoexit:
		defer hostLog("main: deferred runs at Goexit")
		runtime.Goexit()
	case modeReenterPanic:
		defer hostLog("main: deferred runs while the nested panic unwinds")
		reenter("Boom", 0)
		hostLog("main: unreachable")
	}
}

// Double is a pure export: no runtime state, no scheduling point.
//
//go:wasmexport Double
func Double(x int64) int64 { return 2 * x }

// Handoff passes a token n times between its goroutine and a worker over unbuffered channels
// (goroutine switches inside a re-entered export) and returns the sum of what came back.
//
//go:wasmexport Handoff
func Handoff(n int64) int64 {
	ping, pong := make(chan int64), make(chan int64)
	go func() {
		for v := range ping {
			pong <- v * 10
		}
		close(pong)
	}()
	var sum int64
	for i := int64(1); i <= n; i++ {
		ping <- i
		sum += <-pong
	}
	close(ping)
	<-pong
	return sum
}

// Boom panics; re-entered from main, the panic is unrecovered.
//
//go:wasmexport Boom
func Boom() {
	panic("boom in a re-entered export")
}

// State returns the package state: 1 after init, 2 once main started, 3 when main finished.
//
//go:wasmexport State
func State() int64 { return state }

// Yield is a scheduling point.
//
//go:wasmexport Yield
func Yield() {
	hostLog("yield: before")
	runtime.Gosched()
	hostLog("yield: after")
}
