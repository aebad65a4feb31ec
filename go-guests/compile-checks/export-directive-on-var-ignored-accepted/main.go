package main

func main() {}

//go:wasmexport V
var v int32
