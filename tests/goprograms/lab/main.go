// Command lab is the F01-style coverage test program: main plus packages a, b and c.
package main

import (
	"fmt"
	"os"

	"example.com/lab/a"
	"example.com/lab/b"
	"example.com/lab/c"
)

func main() {
	n := len(os.Args) - 1
	fmt.Println("sum:", a.Sum(n+c.Base))
	if n > 2 {
		fmt.Println("many args")
	} else {
		fmt.Println("few args")
	}
	t := &a.T{V: n}
	if n == 1 {
		fmt.Println(t.Get(), t.Name())
	}
	a.F()
	fmt.Println("inc:", a.Inc(3))
	if n > 1000 {
		b.Unused()
		b.AlsoUnused()
	}
	fmt.Println(c.Name)
}
