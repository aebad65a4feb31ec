package main

func main() {}

//go:wasmimport host v
var (
	v int32
)
