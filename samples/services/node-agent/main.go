// Command node-agent runs on every node and exports node statistics.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/example-org/node-agent/internal/collector"
	"github.com/example-org/node-agent/internal/export"
)

func main() {
	logger := log.New(os.Stderr, "node-agent ", log.LstdFlags|log.LUTC)
	node := envOr("NODE_NAME", "unknown-node")
	c := collector.New(node, envOr("PROC_ROOT", "/proc"), 60)
	logger.Print(export.Summary(c.Collect()))

	if interval, err := time.ParseDuration(envOr("COLLECT_INTERVAL", "0s")); err == nil && interval > 0 {
		go func() {
			for range time.Tick(interval) {
				logger.Print(export.Summary(c.Collect()))
			}
		}()
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		if err := export.Prometheus(w, c.Collect()); err != nil {
			logger.Printf("metrics: %v", err)
		}
	})
	mux.HandleFunc("GET /v1/history", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil && r.URL.Query().Has("n") {
			http.Error(w, "n must be an integer", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(c.History(n))
	})
	mux.HandleFunc("POST /v1/collect", func(w http.ResponseWriter, _ *http.Request) {
		s := c.Collect()
		status := http.StatusOK
		if len(s.Errors) > 0 {
			status = http.StatusMultiStatus
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(s)
	})
	addr := envOr("LISTEN_ADDR", ":9100")
	logger.Printf("listening on %s", addr)
	logger.Fatal(http.ListenAndServe(addr, mux))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
