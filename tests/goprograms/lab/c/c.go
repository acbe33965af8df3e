// Package c has no functions at all, only a constant and a variable.
package c

// Base is added to the argument count.
const Base = 1

// Name is printed by main.
var Name = "c"
