// Command runs classifies its numeric arguments; run it many times with varying arguments.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	code := 0
	for _, a := range os.Args[1:] {
		n, err := strconv.Atoi(a)
		if err != nil {
			fmt.Println("not a number:", a)
			code = 3
			continue
		}
		fmt.Println(n, classify(n), collatz(n))
	}
	if code != 0 {
		os.Exit(code)
	}
}

func classify(n int) string {
	switch {
	case n%15 == 0:
		return "fizzbuzz"
	case n%5 == 0:
		return "buzz"
	case n%3 == 0:
		return "fizz"
	case n < 0:
		return "negative"
	}
	return "plain"
}

func collatz(n int) int {
	steps := 0
	for n > 1 {
		if n%2 == 0 {
			n /= 2
		} else {
			n = 3*n + 1
		}
		steps++
	}
	return steps
}
