package main

func main() {}

type T int32

//go:wasmexport M
func (T) M() {}
