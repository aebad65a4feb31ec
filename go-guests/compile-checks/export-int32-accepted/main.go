package main

func main() {}

//go:wasmexport F
func F(x int32) int32 { return x }
