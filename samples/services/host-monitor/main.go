// Command host-monitor is a systemd service on each node that runs host
// health checks and reports them over HTTP.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"sync"

	"github.com/example-org/host-monitor/internal/checks"
)

type monitor struct {
	checks []checks.Check
	mu     sync.Mutex
	last   []checks.Result
	worst  checks.Severity
}

func (m *monitor) run() {
	results, worst := checks.RunAll(m.checks)
	m.mu.Lock()
	m.last, m.worst = results, worst
	m.mu.Unlock()
}

func main() {
	logger := log.New(os.Stderr, "host-monitor ", log.LstdFlags|log.LUTC)
	spec := os.Getenv("HOST_CHECKS")
	if spec == "" {
		spec = "disk:/,disk:/var"
	}
	list, err := checks.Parse(spec)
	if err != nil {
		logger.Fatalf("invalid HOST_CHECKS: %v", err)
	}
	m := &monitor{checks: list}
	m.run()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		m.mu.Lock()
		body := map[string]any{"worst": m.worst, "results": m.last}
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("POST /v1/run", func(w http.ResponseWriter, _ *http.Request) {
		m.run()
		w.WriteHeader(http.StatusAccepted)
	})
	addr := os.Getenv("LISTEN_ADDR")
	if addr == "" {
		addr = "127.0.0.1:9910"
	}
	logger.Printf("listening on %s with %d checks", addr, len(list))
	logger.Fatal(http.ListenAndServe(addr, mux))
}
