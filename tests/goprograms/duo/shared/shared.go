// Package shared is linked into both duo binaries, so covdata merges its units across pods.
package shared

import "strings"

// Greet is called by both binaries.
func Greet(name string) string {
	if name == "" {
		name = "world"
	}
	return "hello, " + name
}

// Shout is called only by binary one.
func Shout(s string) string {
	return strings.ToUpper(s) + "!"
}

// Whisper is called only by binary two.
func Whisper(s string) string {
	return strings.ToLower(s) + "..."
}
