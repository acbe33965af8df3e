// Command local is built as `go build -cover ./main.go`: package command-line-arguments,
// whose SrcFile entries are absolute paths.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Println("args:", os.Args[1:])
		return
	}
	fmt.Println("no args")
}
