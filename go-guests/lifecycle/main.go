// Guest "lifecycle": package initialisation inside _initialize, state that persists across export
// calls, goroutines started from init, calls before/after _initialize, panics, os.Exit and calls
// after a trap. Every observable effect goes through the `harness` host imports or stdout/stderr,
// and nothing printed depends on time, addresses or map order.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

//go:wasmimport harness log
func hostLog(s string)

//go:wasmimport harness record_i32
func recordI32(x int32)

// Package-level variables initialise in dependency order, then in declaration order: `derived` is
// declared first but depends on `base`, so `base` initialises before it.
var derived = initDerived(base)

var base = initBase()

var third = initThird()

func initDerived(b int32) int32 {
	hostLog("var derived")
	fmt.Println("var derived")
	return b * 10
}

func initBase() int32 {
	hostLog("var base")
	fmt.Println("var base")
	return 4
}

func initThird() int32 {
	hostLog("var third")
	fmt.Println("var third")
	return derived + base
}

// counter is package state that must persist from _initialize across every later export call.
var counter int32

// initGoroutineRan is set by a goroutine started from init; it must stay 0 until a later export
// reaches a scheduling point.
var initGoroutineRan int32

func init() {
	hostLog("init 1")
	fmt.Println("init 1")
	counter = 100
}

func init() {
	hostLog("init 2")
	fmt.Println("init 2")
	go func() {
		hostLog("init goroutine")
		initGoroutineRan = 1
	}()
}

func main() {}

// Third returns the value computed by the package-level initialisers (derived + base = 40 + 4).
//
//go:wasmexport Third
func Third() int32 { return third }

// Incr bumps the package counter and returns the new value.
//
//go:wasmexport Incr
func Incr() int32 {
	counter++
	return counter
}

// Get returns the package counter without changing it.
//
//go:wasmexport Get
func Get() int32 { return counter }

// Add is a pure function that touches no runtime state.
//
//go:wasmexport Add
func Add(a, b int32) int32 { return a + b }

// InitGoroutineRan reports whether the goroutine started from init has run yet.
//
//go:wasmexport InitGoroutineRan
func InitGoroutineRan() int32 { return initGoroutineRan }

// Yield is a scheduling point: runnable goroutines run during runtime.Gosched.
//
//go:wasmexport Yield
func Yield() {
	hostLog("yield: before")
	runtime.Gosched()
	hostLog("yield: after")
}

// Panic panics with a string value; nothing recovers it.
//
//go:wasmexport Panic
func Panic(code int32) {
	hostLog("about to panic")
	defer hostLog("deferred runs while panicking")
	panic(fmt.Sprintf("boom %d", code))
}

// PanicError panics with an error value.
//
//go:wasmexport PanicError
func PanicError() {
	panic(errors.New("an error value"))
}

var table = [3]int32{10, 20, 30}

// Index reads table[i]; an out-of-range i is a Go runtime error panic, not a wasm trap of its own.
//
//go:wasmexport Index
func Index(i int32) int32 { return table[i] }

// Div divides; b == 0 is Go's "integer divide by zero" panic (Go checks before the wasm div).
//
//go:wasmexport Div
func Div(a, b int32) int32 { return a / b }

// SafeDiv divides and recovers the divide-by-zero panic, returning -1.
//
//go:wasmexport SafeDiv
func SafeDiv(a, b int32) (res int32) {
	defer func() {
		if r := recover(); r != nil {
			hostLog(fmt.Sprint("recovered: ", r))
			res = -1
		}
	}()
	return a / b
}

// Exit calls os.Exit(code); deferred calls do not run.
//
//go:wasmexport Exit
func Exit(code int32) {
	defer hostLog("deferred must not run")
	hostLog("exiting")
	fmt.Print("bye")
	os.Exit(int(code))
}
