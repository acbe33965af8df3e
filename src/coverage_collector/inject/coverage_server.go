// Code injected by the build system for cluster code coverage. DO NOT EDIT.
//
// This file mirrors the coverage server that doozer copies into every
// package main of a binary built with -cover: an HTTP server on port 53700
// or above that hands out the binary's coverage meta-data and counters.
// Every identifier carries the _cov prefix so it cannot collide with the
// program it is injected into.

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/coverage"
	"strconv"
	"sync"
	"time"
)

const (
	_covDefaultPort  = 53700
	_covPortAttempts = 50
)

// _covSnapshot is the JSON body of GET /coverage.
type _covSnapshot struct {
	MetaFilename     string `json:"meta_filename"`
	MetaData         string `json:"meta_data"`
	CountersFilename string `json:"counters_filename"`
	CountersData     string `json:"counters_data"`
	Timestamp        int64  `json:"timestamp"`
}

var (
	_covHashMu     sync.Mutex
	_covCachedHash string
)

func init() {
	go _covServe()
}

// _covServe binds the first free port of [start, start+50) and serves on it.
func _covServe() {
	var probe bytes.Buffer
	if err := coverage.WriteMeta(&probe); err != nil {
		log.Printf("coverage server: binary was not built with -cover: %v", err)
	}
	start := _covDefaultPort
	if v, err := strconv.Atoi(os.Getenv("COVERAGE_PORT")); err == nil && v > 0 {
		start = v
	}
	host := os.Getenv("COVERAGE_BIND_ADDRESS")
	mux := http.NewServeMux()
	mux.HandleFunc("/coverage", _covHandleCoverage)
	mux.HandleFunc("/health", _covHandleHealth)
	for port := start; port < start+_covPortAttempts; port++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		log.Printf("coverage server listening on %s", ln.Addr())
		srv := &http.Server{Handler: _covIdentity(mux), ReadHeaderTimeout: 10 * time.Second}
		if err := srv.Serve(ln); err != nil {
			log.Printf("coverage server stopped: %v", err)
		}
		return
	}
	log.Printf("coverage server: no free port in [%d, %d)", start, start+_covPortAttempts)
}

// _covIdentity sets the identity headers on every response, HEAD included.
func _covIdentity(next http.Handler) http.Handler {
	binary := "unknown"
	if exe, err := os.Executable(); err == nil {
		binary = filepath.Base(exe)
	}
	headers := map[string]string{
		"X-Art-Coverage-Server":         "1",
		"X-Art-Coverage-Pid":            strconv.Itoa(os.Getpid()),
		"X-Art-Coverage-Binary":         binary,
		"X-Art-Coverage-Source-Commit":  os.Getenv("SOURCE_GIT_COMMIT"),
		"X-Art-Coverage-Source-Url":     os.Getenv("SOURCE_GIT_URL"),
		"X-Art-Coverage-Software-Group": _covFirstEnv("SOFTWARE_GROUP", "__doozer_group"),
		"X-Art-Coverage-Software-Key":   _covFirstEnv("SOFTWARE_KEY", "__doozer_key"),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name, value := range headers {
			if value != "" {
				w.Header().Set(name, value)
			}
		}
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func _covFirstEnv(names ...string) string {
	for _, name := range names {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return ""
}

func _covHandleHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "coverage server healthy")
}

// _covHandleCoverage answers with the meta-data (unless ?nometa=1) and the
// current counters, named the way the Go runtime names its files.
func _covHandleCoverage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := time.Now()
	snap := _covSnapshot{Timestamp: now.UnixNano()}
	hash := _covHash()
	if r.URL.Query().Get("nometa") != "1" {
		var meta bytes.Buffer
		if err := coverage.WriteMeta(&meta); err != nil {
			http.Error(w, "Failed to collect metadata: "+err.Error(), http.StatusInternalServerError)
			return
		}
		hash = _covRememberHash(meta.Bytes())
		snap.MetaFilename = "covmeta." + hash
		snap.MetaData = base64.StdEncoding.EncodeToString(meta.Bytes())
	}
	var counters bytes.Buffer
	if err := coverage.WriteCounters(&counters); err != nil {
		http.Error(w, "Failed to collect counters: "+err.Error(), http.StatusInternalServerError)
		return
	}
	snap.CountersFilename = fmt.Sprintf("covcounters.%s.%d.%d", hash, os.Getpid(), now.UnixNano())
	snap.CountersData = base64.StdEncoding.EncodeToString(counters.Bytes())
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(snap); err != nil {
		log.Printf("coverage server: writing response: %v", err)
	}
}

// _covRememberHash extracts the meta file hash (header bytes 24..40) and
// caches it for later ?nometa=1 requests.
func _covRememberHash(meta []byte) string {
	hash := "unknown"
	if len(meta) >= 40 {
		hash = hex.EncodeToString(meta[24:40])
	}
	_covHashMu.Lock()
	defer _covHashMu.Unlock()
	_covCachedHash = hash
	return hash
}

func _covHash() string {
	_covHashMu.Lock()
	defer _covHashMu.Unlock()
	if _covCachedHash == "" {
		return "unknown"
	}
	return _covCachedHash
}
