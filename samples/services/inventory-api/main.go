// Command inventory-api serves the shop's stock levels over HTTP.
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/example-org/inventory-api/internal/api"
	"github.com/example-org/inventory-api/internal/store"
)

func main() {
	logger := log.New(os.Stderr, "inventory-api ", log.LstdFlags|log.LUTC)
	addr := os.Getenv("LISTEN_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	st := store.NewMemory()
	if os.Getenv("SEED_DEMO_DATA") == "true" {
		seed(st)
	}
	srv := &http.Server{Addr: addr, Handler: api.New(st, logger), ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			logger.Printf("shutdown: %v", err)
		}
	}()
	logger.Printf("listening on %s", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Fatalf("serve: %v", err)
	}
}

func seed(st *store.Memory) {
	for _, item := range []store.Item{
		{SKU: "TEA-0001", Name: "Assam loose leaf", Quantity: 120, PriceCents: 899, Tags: []string{"tea", "black"}},
		{SKU: "TEA-0002", Name: "Sencha", Quantity: 40, PriceCents: 1299, Tags: []string{"tea", "green"}},
		{SKU: "MUG-0001", Name: "Stoneware mug", Quantity: 0, PriceCents: 1450, Tags: []string{"kitchen"}},
	} {
		if _, _, err := st.Put(item, 0); err != nil {
			log.Fatalf("seed: %v", err)
		}
	}
}
