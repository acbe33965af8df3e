// Command writer saves what an HTTP coverage server would serve: runtime/coverage.WriteMeta and
// WriteCounters output, then ClearCounters and a second WriteCounters snapshot. Atomic mode only.
//
// Usage: writer OUTDIR [words...]. It writes OUTDIR/meta.bin, counters1.bin and counters2.bin.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/coverage"
)

func work(words []string) int {
	n := 0
	for _, w := range words {
		if len(w) > 3 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func other(k int) int {
	if k > 1 {
		return k * k
	}
	return k
}

func save(dir, name string, write func(*bytes.Buffer) error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		fmt.Fprintln(os.Stderr, "coverage write failed:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: writer OUTDIR [words...]")
		os.Exit(2)
	}
	dir := os.Args[1]
	fmt.Println("work:", work(os.Args[2:]))
	save(dir, "meta.bin", func(b *bytes.Buffer) error { return coverage.WriteMeta(b) })
	save(dir, "counters1.bin", func(b *bytes.Buffer) error { return coverage.WriteCounters(b) })
	if err := coverage.ClearCounters(); err != nil {
		fmt.Fprintln(os.Stderr, "clear failed:", err)
		os.Exit(1)
	}
	fmt.Println("other:", other(len(os.Args)))
	save(dir, "counters2.bin", func(b *bytes.Buffer) error { return coverage.WriteCounters(b) })
}
