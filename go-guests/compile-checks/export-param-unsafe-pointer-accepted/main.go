package main

import "unsafe"

func main() {}

//go:wasmexport F
func F(p unsafe.Pointer) unsafe.Pointer { return p }
