package main

func main() {}

//go:wasmexport F
func F() (int32, int32) { return 0, 0 }
