package main

func main() {}

//go:wasmexport F
func F(b *[16]byte) {}
