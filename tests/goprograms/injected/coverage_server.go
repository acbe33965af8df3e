package main

import "fmt"

// startCoverageServer stands for the injected HTTP coverage server.
func startCoverageServer() {
	port := 53700
	if port > 0 {
		fmt.Fprintln(devNull{}, "coverage server on", port)
	}
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }
