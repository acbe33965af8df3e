// Package tools is a library beside an ignored generator: not a main package.
package tools

// Name of the tools.
const Name = "tools"
