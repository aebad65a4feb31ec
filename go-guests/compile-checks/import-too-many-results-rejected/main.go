package main

func main() {}

//go:wasmimport host f
func f() (int32, int32)
