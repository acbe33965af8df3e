// Package snap writes what a coverage producer uploads: the meta-data file once and cumulative
// counter snapshots taken at different moments of one process (atomic mode only).
package snap

import (
	"fmt"
	"os"
	"runtime/coverage"
)

// Meta writes covmeta.<hash> into dir.
func Meta(dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := coverage.WriteMetaDir(dir); err != nil {
		fmt.Fprintln(os.Stderr, "WriteMetaDir:", err)
		os.Exit(1)
	}
}

// Counters writes covcounters.<hash>.<pid>.<nanos> (all counts since process start) into dir.
func Counters(dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := coverage.WriteCountersDir(dir); err != nil {
		fmt.Fprintln(os.Stderr, "WriteCountersDir:", err)
		os.Exit(1)
	}
}

// Run writes the meta file into out, then runs each phase followed by a counter snapshot into
// out/snap<i>. Snapshots are cumulative, like the producer's polls of a coverage server.
func Run(out string, phases ...func()) {
	Meta(out)
	for i, phase := range phases {
		phase()
		Counters(fmt.Sprintf("%s/snap%d", out, i+1))
	}
}
