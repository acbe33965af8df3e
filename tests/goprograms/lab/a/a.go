// Package a has plain functions, methods, a package-level function literal and closures.
package a

import "fmt"

// Sum adds the integers below n, skipping multiples of three.
func Sum(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		if i%3 == 0 {
			continue
		} else if i%2 == 0 {
			total += 2 * i
		} else {
			total += i
		}
	}

	// A comment-only line and a blank line above: Go 1.27 splits units here.
	return total
}

// T is a small value type.
type T struct{ V int }

// Get is a pointer method.
func (t *T) Get() int { return t.V }

// Name is a value method.
func (t T) Name() string {
	return fmt.Sprintf("T%d", t.V)
}

// F is a package-level function literal.
var F = func() {
	x := 1
	if x > 0 {
		x++
	}
	_ = x
}

// Inc sums 0..n-1 through a closure.
func Inc(n int) int {
	v := 0
	add := func(d int) { v += d }

	// A blank and a comment-only line inside a straight run of statements.
	v += 0
	for i := 0; i < n; i++ {
		add(i)
	}
	return v
}
