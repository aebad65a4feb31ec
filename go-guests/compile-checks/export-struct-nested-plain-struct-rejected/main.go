package main

import "structs"

func main() {}

// Pointer-free, but without structs.HostLayout.
type Plain struct {
	X int32
}

type Outer struct {
	_  structs.HostLayout
	In Plain
}

//go:wasmexport F
func F(o *Outer) {}
