package main

func main() {}

//go:wasmexport F
func F(s string) int32 { return int32(len(s)) }
