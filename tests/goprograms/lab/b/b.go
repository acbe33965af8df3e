// Package b has only functions that are never called.
package b

// Unused is never called.
func Unused() int {
	x := 0
	for i := 0; i < 3; i++ {
		x += i
	}
	return x
}

// AlsoUnused is empty and never called.
func AlsoUnused() {}
