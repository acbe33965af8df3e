// Command operator is a fake cluster operator: it reconciles its arguments in three phases and
// writes covmeta plus one cumulative counter snapshot after each phase.
//
// Usage: operator OUTDIR [objects...]. Files: OUTDIR/covmeta.*, OUTDIR/snap{1,2,3}/covcounters.*.
package main

import (
	"fmt"
	"os"

	"example.com/snapshots/internal/snap"
	"example.com/snapshots/internal/work"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: operator OUTDIR [objects...]")
		os.Exit(2)
	}
	args := os.Args[2:]
	half := args[:len(args)/2]
	total := 0
	snap.Run(os.Args[1],
		func() { total += work.Reconcile(half) },
		func() { total += work.Reconcile(args) },
		func() { total += work.Reconcile(append(args, "-finalizer", "replicas=7")) },
	)
	fmt.Println("changed:", total)
}
