// Command one is the first of two binaries sharing package shared.
package main

import (
	"fmt"
	"os"

	"example.com/duo/shared"
)

func main() {
	name := ""
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Println(shared.Shout(shared.Greet(name)))
}
