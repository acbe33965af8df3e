// Command injected stands for a cluster binary: application code plus the files the
// build injects (coverage_server.go, coverage_producer.go), which compile must not count,
// and a user file whose name merely contains "coverage_server.go", which it must count.
package main

import (
	"fmt"
	"os"
)

func handle(arg string) string {
	if len(arg) > 3 {
		return "long"
	}
	return "short"
}

func main() {
	startCoverageServer()
	reportProducer()
	for _, arg := range os.Args[1:] {
		fmt.Println(handle(arg))
	}
	if len(os.Args) > 2 {
		fmt.Println(userCoverageServer(len(os.Args)))
	}
}
