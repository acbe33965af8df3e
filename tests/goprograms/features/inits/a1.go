// Package inits has init functions at the end of a1.go and the start of a2.go.
package inits

// Value is set by the init functions.
var Value int

func add(n int) { Value += n }

func init() {
	add(1)
}
