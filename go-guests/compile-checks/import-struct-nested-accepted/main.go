package main

import "structs"

func main() {}

type Inner struct {
	_ structs.HostLayout
	A int32
	B [2]float32
}

type Outer struct {
	_   structs.HostLayout
	In  Inner
	Arr [2]Inner
}

//go:wasmimport host f
func f(o *Outer)
