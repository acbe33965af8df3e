// Command features exercises generics, several inits, goroutines, switch/select, defer and
// unicode identifiers.
package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"example.com/features/gen"
	"example.com/features/inits"
)

var order []string

func init() {
	order = append(order, "main.go init")
}

func main() {
	defer fmt.Println("deferred: done")
	args := os.Args[1:]
	fmt.Println("inits:", strings.Join(order, ","), inits.Value)

	lens := gen.Map(args, func(s string) int { return len(s) })
	var st gen.Stack[int]
	for _, n := range lens {
		st.Push(n)
	}
	if top, ok := st.Peek(); ok {
		fmt.Println("top:", top, "len:", st.Len())
	}
	for st.Len() > 1 {
		st.Pop()
	}
	p := gen.Pair[string, int]{Key: "k", Val: len(args)}
	fmt.Println(p.String())

	fmt.Println("sum:", parallelSum(lens))
	for _, a := range args {
		fmt.Println(a, "->", kind(a))
	}
	fmt.Println("select:", pick(len(args)))
	fmt.Println("Größe:", Größe(args))
	fmt.Println("safe:", safeDiv(10, len(args)))
}

func parallelSum(xs []int) int {
	var wg sync.WaitGroup
	ch := make(chan int, len(xs))
	for _, x := range xs {
		wg.Add(1)
		go func(v int) {
			defer wg.Done()
			ch <- v * v
		}(x)
	}
	wg.Wait()
	close(ch)
	total := 0
	for v := range ch {
		total += v
	}
	return total
}

func kind(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) == 1:
		return "short"
	case strings.HasPrefix(s, "-"):
		return "flag"
	default:
		return "word"
	}
}

func pick(n int) string {
	a := make(chan string, 1)
	b := make(chan string, 1)
	switch n % 3 {
	case 0:
		a <- "a"
	case 1:
		b <- "b"
	}
	select {
	case v := <-a:
		return v
	case v := <-b:
		return v
	case <-time.After(time.Millisecond):
		return "timeout"
	}
}

func safeDiv(a, b int) (r int) {
	defer func() {
		if e := recover(); e != nil {
			r = -1
		}
	}()
	return a / b
}
