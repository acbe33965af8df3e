// Command allpkg is built with -coverpkg=all, so the runtime and the std packages are covered too.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	words := append([]string{"pear", "apple", "fig"}, os.Args[1:]...)
	sort.Strings(words)
	parts := make([]string, 0, len(words))
	for i, w := range words {
		parts = append(parts, strconv.Itoa(i)+":"+strings.ToUpper(w))
	}
	fmt.Println(strings.Join(parts, " "))
}
