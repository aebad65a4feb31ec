package main

import "structs"

func main() {}

// A HostLayout struct holding a slice field: pointer-bearing, so not allowed.
type P struct {
	_ structs.HostLayout
	X []int32
}

//go:wasmexport F
func F(p *P) {}
