package main

import "structs"

func main() {}

type H struct {
	_ structs.HostLayout
	A int32
	B [4]uint8
	C float64
	D bool
}

//go:wasmimport host f
func f(h *H)
