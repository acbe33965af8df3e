// Command other is a second binary: what a process becomes when it exec's another program.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"example.com/served/work"
)

func main() {
	fmt.Println("other:", work.Classify(fmt.Sprint(len(os.Args))))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
