package main

func main() {}

//go:wasmexport
func F(x int) {}
