// Package validate checks client input before it reaches the store.
package validate

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

const (
	maxNameLength = 80
	maxTags       = 8
	maxPriceCents = 100_000_00
	maxAdjustment = 10_000
)

var (
	skuPattern = regexp.MustCompile(`^[A-Z]{3}-[0-9]{4}$`)
	tagPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,23}$`)
)

// FieldError describes one invalid field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Errors is a list of field errors; it is an error when non-empty.
type Errors []FieldError

func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, fe := range e {
		parts[i] = fe.Field + ": " + fe.Message
	}
	return strings.Join(parts, "; ")
}

func (e *Errors) add(field, format string, args ...any) {
	*e = append(*e, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (e Errors) orNil() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// SKU checks the shape of a stock-keeping unit code, e.g. "ABC-1234".
func SKU(sku string) error {
	var errs Errors
	if !skuPattern.MatchString(sku) {
		errs.add("sku", "must look like ABC-1234, got %q", sku)
	}
	return errs.orNil()
}

// Item checks every field of an item payload.
func Item(sku, name string, quantity int, priceCents int64, tags []string) error {
	var errs Errors
	if !skuPattern.MatchString(sku) {
		errs.add("sku", "must look like ABC-1234, got %q", sku)
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(name)); {
	case n == 0:
		errs.add("name", "is required")
	case n > maxNameLength:
		errs.add("name", "must be at most %d characters, got %d", maxNameLength, n)
	}
	if quantity < 0 {
		errs.add("quantity", "must not be negative")
	}
	if priceCents <= 0 {
		errs.add("price_cents", "must be positive")
	} else if priceCents > maxPriceCents {
		errs.add("price_cents", "must be at most %d", maxPriceCents)
	}
	if len(tags) > maxTags {
		errs.add("tags", "at most %d tags allowed", maxTags)
	}
	seen := make(map[string]bool, len(tags))
	for _, tag := range tags {
		if !tagPattern.MatchString(tag) {
			errs.add("tags", "invalid tag %q", tag)
		} else if seen[tag] {
			errs.add("tags", "duplicate tag %q", tag)
		}
		seen[tag] = true
	}
	return errs.orNil()
}

// Adjustment checks a stock adjustment request.
func Adjustment(delta int, reason string) error {
	var errs Errors
	if delta == 0 {
		errs.add("delta", "must not be zero")
	} else if delta > maxAdjustment || delta < -maxAdjustment {
		errs.add("delta", "must be within ±%d", maxAdjustment)
	}
	switch reason {
	case "sale", "restock", "return", "shrinkage":
	case "":
		errs.add("reason", "is required")
	default:
		errs.add("reason", "unknown reason %q", reason)
	}
	return errs.orNil()
}
