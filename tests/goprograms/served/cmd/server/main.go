// Command server does some work, then keeps working on a tick until it is told to stop:
// a long-running process whose coverage server `collect` scrapes.
//
// Arguments are words of work done once at start; SERVED_TICK (a Go duration) makes it
// call work.Tick on that interval, so its counters grow; SERVED_EXEC names a binary it
// exec's after SERVED_EXEC_AFTER (same pid, another program); SERVED_EXIT_AFTER ends it.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/served/work"
)

func main() {
	for _, word := range os.Args[1:] {
		fmt.Println(work.Classify(word))
	}
	if after, err := time.ParseDuration(os.Getenv("SERVED_EXIT_AFTER")); err == nil {
		time.AfterFunc(after, func() { os.Exit(0) })
	}
	if path := os.Getenv("SERVED_EXEC"); path != "" {
		after, _ := time.ParseDuration(os.Getenv("SERVED_EXEC_AFTER"))
		time.AfterFunc(after, func() {
			err := syscall.Exec(path, []string{path, "exec'd"}, os.Environ())
			fmt.Fprintln(os.Stderr, "exec:", err)
		})
	}
	var tick <-chan time.Time
	if every, err := time.ParseDuration(os.Getenv("SERVED_TICK")); err == nil {
		tick = time.NewTicker(every).C
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	for {
		select {
		case <-tick:
			work.Tick()
		case <-stop:
			return
		}
	}
}
