// Package work is the workload of the snapshot programs: its coverage depends on the arguments.
package work

import (
	"strconv"
	"strings"
)

// Reconcile pretends to reconcile named objects and returns how many changed.
func Reconcile(names []string) int {
	changed := 0
	for _, n := range names {
		switch {
		case n == "":
			continue
		case strings.HasPrefix(n, "-"):
			changed += Delete(n[1:])
		case strings.Contains(n, "="):
			k, v, _ := strings.Cut(n, "=")
			changed += Update(k, v)
		default:
			changed++
		}
	}
	return changed
}

// Delete removes one object.
func Delete(name string) int {
	if len(name) > 4 {
		return 2
	}
	return 1
}

// Update sets a field; numeric values are treated specially.
func Update(key, value string) int {
	if n, err := strconv.Atoi(value); err == nil {
		if n < 0 {
			return 0
		}
		return n % 3
	}
	if key == value {
		return 0
	}
	return 1
}

// Scan walks fake /proc entries and counts those that look like listening ports.
func Scan(entries []string, rounds int) int {
	found := 0
	for r := 0; r < rounds; r++ {
		for _, e := range entries {
			if p, err := strconv.Atoi(e); err == nil && p >= 53700 && p < 53800 {
				found++
			} else if strings.HasSuffix(e, ".sock") {
				found += 2
			}
		}
	}
	return found
}
