package main

func main() {}

//go:wasmexport mod F
func F() {}
