package main

func main() {}

//go:wasmimport f
func f(x int32) int32
