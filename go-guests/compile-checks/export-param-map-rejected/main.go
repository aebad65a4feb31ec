package main

func main() {}

//go:wasmexport F
func F(m map[int32]int32) {}
