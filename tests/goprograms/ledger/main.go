// Command ledger posts deposits and withdrawals to a book that every process opens with
// the same balances, and reports or audits it. Different arguments cover different code:
//
//	ledger deposit NAME AMOUNT [NAME AMOUNT...]
//	ledger withdraw NAME AMOUNT [NAME AMOUNT...]
//	ledger report
//	ledger audit LIMIT [NAME AMOUNT...]
//
// tests/difffixtures.py builds this as v1 and patches audit/audit.go into v2.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"example.com/ledger/audit"
	"example.com/ledger/book"
)

func main() {
	startCoverageServer()
	if len(os.Args) < 2 {
		usage()
	}
	b := book.New()
	seed(b)
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "deposit":
		err = post(b, args, 1)
	case "withdraw":
		err = post(b, args, -1)
	case "report":
		report(b)
	case "audit":
		err = runAudit(b, args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger:", err)
		os.Exit(1)
	}
}

// usage is the error path no workload runs.
func usage() {
	fmt.Fprintln(os.Stderr, "usage: ledger deposit|withdraw|report|audit ARGS...")
	os.Exit(2)
}

// seed posts the opening balances.
func seed(b *book.Book) {
	for _, name := range []string{"alice", "bob", "carol"} {
		if err := b.Post(name, 100+len(name)*25); err != nil {
			panic(err)
		}
	}
}

// post applies NAME AMOUNT pairs, each amount multiplied by sign.
func post(b *book.Book, args []string, sign int) error {
	if len(args)%2 != 0 {
		return errors.New("expected NAME AMOUNT pairs")
	}
	for i := 0; i < len(args); i += 2 {
		amount, err := strconv.Atoi(args[i+1])
		if err != nil {
			return fmt.Errorf("amount %q: %w", args[i+1], err)
		}
		if err := b.Post(args[i], sign*amount); err != nil {
			return err
		}
		fmt.Println(args[i], b.Balance(args[i]))
	}
	return nil
}

// report prints the balances, largest first, and their total.
func report(b *book.Book) {
	total := 0
	for _, name := range b.Accounts() {
		fmt.Printf("%-8s %6d\n", name, b.Balance(name))
		total += b.Balance(name)
	}
	fmt.Printf("%-8s %6d\n", "total", total)
}

// runAudit posts the deposits of args[1:] and prints the findings for the limit args[0].
func runAudit(b *book.Book, args []string) error {
	if len(args) == 0 {
		return errors.New("audit needs a LIMIT")
	}
	limit, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	if err := post(b, args[1:], 1); err != nil {
		return err
	}
	findings := audit.Scan(b.Journal(), limit)
	for _, f := range findings {
		fmt.Println("finding", f.Index, f.Reason)
	}
	fmt.Println("score", audit.Score(findings))
	return nil
}
