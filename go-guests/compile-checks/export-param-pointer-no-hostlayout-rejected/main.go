package main

func main() {}

// Only int32 fields, but no structs.HostLayout field.
type S struct {
	X, Y int32
}

//go:wasmexport F
func F(s *S) {}
