//go:build ignore

// A generator run with `go run tools/gen.go`: never part of a binary.
package main

func main() {}
