// Package audit flags suspicious journal entries.
//
// Scan is the last function of this file on purpose: v2 of the program (see
// tests/difffixtures.py) rewrites part of its body and appends a new function after it,
// so every other function keeps its bytes and its line and column positions.
package audit

import "example.com/ledger/book"

// Finding is one flagged entry.
type Finding struct {
	Index  int
	Reason string
}

// Score weighs the findings: large amounts count double.
func Score(findings []Finding) int {
	score := 0
	for _, f := range findings {
		switch f.Reason {
		case "large amount":
			score += 2
		default:
			score++
		}
	}
	return score
}

// Scan flags the entries above limit (either way) and the round amounts.
func Scan(entries []book.Entry, limit int) []Finding {
	var out []Finding
	for i, e := range entries {
		if e.Amount > limit || -e.Amount > limit {
			out = append(out, Finding{i, "large amount"})
		}
		if e.Amount%100 == 0 {
			out = append(out, Finding{i, "round amount"})
		}
	}
	return out
}
