package main

import "structs"

func main() {}

type P struct {
	_ structs.HostLayout
	N int
}

//go:wasmexport F
func F(p *P) {}
