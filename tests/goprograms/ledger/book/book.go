// Package book keeps balances and the journal of the entries posted to them.
package book

import (
	"errors"
	"fmt"
	"sort"
)

// ErrInsufficient is returned when a withdrawal exceeds the balance.
var ErrInsufficient = errors.New("insufficient funds")

// Entry is one posting: a deposit (positive) or a withdrawal (negative).
type Entry struct {
	Account string
	Amount  int
}

// Book holds the balances and the journal.
type Book struct {
	balances map[string]int
	journal  []Entry
}

// New returns an empty book.
func New() *Book {
	return &Book{balances: map[string]int{}}
}

// Post adds amount to the balance of account.
func (b *Book) Post(account string, amount int) error {
	if amount == 0 {
		return fmt.Errorf("%s: zero amount", account) // no workload posts zero
	}
	if amount < 0 && b.balances[account]+amount < 0 {
		return fmt.Errorf("%s: %w", account, ErrInsufficient)
	}
	b.balances[account] += amount
	b.journal = append(b.journal, Entry{account, amount})
	return nil
}

// Balance returns the balance of account.
func (b *Book) Balance(account string) int { return b.balances[account] }

// Journal returns the entries in the order they were posted.
func (b *Book) Journal() []Entry { return b.journal }

// Accounts returns the account names, largest balance first.
func (b *Book) Accounts() []string {
	names := make([]string, 0, len(b.balances))
	for name := range b.balances {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if b.balances[names[i]] != b.balances[names[j]] {
			return b.balances[names[i]] > b.balances[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}
