package main

func main() {}

func f() {
	//go:wasmexport V
	println()
}
