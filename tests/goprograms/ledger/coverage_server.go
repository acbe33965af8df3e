package main

import "os"

// startCoverageServer stands for the coverage server the build injects into cluster
// binaries; compile and diff leave this file out.
func startCoverageServer() {
	if port := os.Getenv("COVERAGE_SERVER_PORT"); port != "" {
		os.Stderr.WriteString("coverage server on " + port + "\n")
	}
}
