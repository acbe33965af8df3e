// Package work is the code whose coverage differs from run to run.
package work

import "strings"

var ticks int

// Classify says what kind of word `word` is.
func Classify(word string) string {
	switch {
	case word == "":
		return "empty"
	case strings.ToUpper(word) == word:
		return "loud"
	case len(word) > 6:
		return "long"
	default:
		return "plain"
	}
}

// Tick is called on every tick of a long-running server.
func Tick() int {
	ticks++
	if ticks%2 == 0 {
		return ticks / 2
	}
	return ticks
}

// Never is not called by any run.
func Never() int {
	return ticks * 3
}
