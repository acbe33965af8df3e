// Command agent is a fake node agent: it scans fake port entries in three phases and writes
// covmeta plus one cumulative counter snapshot after each phase.
//
// Usage: agent OUTDIR [entries...]. Files: OUTDIR/covmeta.*, OUTDIR/snap{1,2,3}/covcounters.*.
package main

import (
	"fmt"
	"os"

	"example.com/snapshots/internal/snap"
	"example.com/snapshots/internal/work"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: agent OUTDIR [entries...]")
		os.Exit(2)
	}
	entries := os.Args[2:]
	found := 0
	snap.Run(os.Args[1],
		func() { found += work.Scan(entries, 1) },
		func() { found += work.Scan(entries, 3) },
		func() { found += work.Scan(append(entries, "kubelet.sock"), 2) },
	)
	if found > 100 {
		fmt.Println("many ports")
	}
	fmt.Println("found:", found)
}
