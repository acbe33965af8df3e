package inits

func init() {
	add(10)
}

// Twice doubles Value.
func Twice() int { return 2 * Value }
