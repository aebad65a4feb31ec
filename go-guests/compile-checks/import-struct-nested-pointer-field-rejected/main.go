package main

import "structs"

func main() {}

// A HostLayout struct holding a pointer field: pointer-bearing, so not allowed.
type P struct {
	_ structs.HostLayout
	X *int32
}

type Outer struct {
	_  structs.HostLayout
	N  int32
	In P
}

//go:wasmimport host f
func f(o *Outer)
