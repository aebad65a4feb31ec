package main

func main() {}

//go:wasmexport F
func F() int { return 0 }
