// Command two is the second of two binaries sharing package shared.
package main

import (
	"fmt"
	"os"

	"example.com/duo/shared"
)

func main() {
	for _, a := range os.Args[1:] {
		fmt.Println(shared.Whisper(shared.Greet(a)))
	}
	if len(os.Args) == 1 {
		fmt.Println(shared.Greet(""))
	}
}
