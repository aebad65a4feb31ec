package main

import "structs"

func main() {}

// A HostLayout struct holding a string field: pointer-bearing, so not allowed.
type P struct {
	_ structs.HostLayout
	X string
}

//go:wasmexport F
func F(p *P) {}
