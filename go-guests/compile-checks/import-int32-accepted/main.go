package main

func main() {}

//go:wasmimport host f
func f(x int32) int32
