package main

func main() {}

//go:wasmimport host f
func f(s string)
