package main

import "unicode/utf8"

func init() {
	order = append(order, "extra.go init")
}

// Größe returns the total number of runes in its arguments.
func Größe(xs []string) int {
	n := 0
	for _, x := range xs {
		n += utf8.RuneCountInString(x)
	}
	return n
}

// Übung is a type with a unicode name.
type Übung struct{ Näme string }

// Zähle is a method with a unicode name on a unicode type.
func (u *Übung) Zähle() int {
	if u == nil {
		return 0
	}
	return len(u.Näme)
}

func init() {
	var u *Übung
	if u.Zähle() == 0 {
		order = append(order, "second extra.go init")
	}
}
