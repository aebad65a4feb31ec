package main

func main() {}

//go:wasmexport F
func F(a *[4]int32) {}
