// Command panicky always panics, so it leaves a covmeta file but no counter file.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("about to panic with", len(os.Args), "args")
	if len(os.Args) >= 0 {
		panic("deliberate panic")
	}
	fmt.Println("unreachable")
}
