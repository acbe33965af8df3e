// Command kv-store is a small leader/follower key-value store that runs as a
// StatefulSet: ordinal 0 is the leader, the other ordinals follow it.
package main

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/example-org/kv-store/internal/kv"
	"github.com/example-org/kv-store/internal/replication"
)

type server struct {
	store     *kv.Store
	leader    bool
	leaderURL string
	repl      *replication.Replicator
	log       *log.Logger
}

func main() {
	podName := envOr("POD_NAME", "kv-store-0")
	logger := log.New(os.Stderr, podName+" ", log.LstdFlags|log.LUTC)
	s := &server{
		store:     kv.New(),
		leader:    strings.HasSuffix(podName, "-0"),
		leaderURL: os.Getenv("LEADER_URL"),
		log:       logger,
	}
	if s.leader {
		s.repl = replication.New(s.store, strings.Split(os.Getenv("FOLLOWER_URLS"), ","))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /v1/keys", s.keys)
	mux.HandleFunc("GET /v1/kv/{key...}", s.get)
	mux.HandleFunc("PUT /v1/kv/{key...}", s.put)
	mux.HandleFunc("DELETE /v1/kv/{key...}", s.del)
	mux.HandleFunc("POST /internal/replicate", s.replicate)
	mux.HandleFunc("GET /internal/status", s.status)
	addr := envOr("LISTEN_ADDR", ":7379")
	logger.Printf("listening on %s (leader=%v)", addr, s.leader)
	logger.Fatal(http.ListenAndServe(addr, mux))
}

func (s *server) keys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.store.Keys(r.URL.Query().Get("prefix")))
}

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	v, err := s.store.Get(r.PathValue("key"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// writable redirects writes to the leader when this replica follows.
func (s *server) writable(w http.ResponseWriter, r *http.Request) bool {
	if s.leader {
		return true
	}
	if s.leaderURL == "" {
		http.Error(w, "no leader known", http.StatusServiceUnavailable)
		return false
	}
	http.Redirect(w, r, s.leaderURL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	return false
}

func (s *server) put(w http.ResponseWriter, r *http.Request) {
	if !s.writable(w, r) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key := r.PathValue("key")
	var entry kv.Entry
	if rev := r.URL.Query().Get("if_revision"); rev != "" {
		expected, perr := strconv.ParseUint(rev, 10, 64)
		if perr != nil {
			http.Error(w, "if_revision must be an integer", http.StatusBadRequest)
			return
		}
		if entry, err = s.store.CompareAndSwap(key, string(body), expected); err != nil {
			http.Error(w, err.Error(), http.StatusPreconditionFailed)
			return
		}
	} else {
		entry = s.store.Put(key, string(body))
	}
	s.afterWrite()
	writeJSON(w, http.StatusOK, entry)
}

func (s *server) del(w http.ResponseWriter, r *http.Request) {
	if !s.writable(w, r) {
		return
	}
	entry, err := s.store.Delete(r.PathValue("key"))
	if errors.Is(err, kv.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	s.afterWrite()
	writeJSON(w, http.StatusOK, entry)
}

func (s *server) afterWrite() {
	if n := s.repl.Replicate(); n < len(s.repl.Status()) {
		s.log.Printf("replication: %d followers in sync", n)
	}
}

func (s *server) replicate(w http.ResponseWriter, r *http.Request) {
	if s.leader {
		http.Error(w, "the leader does not accept replication", http.StatusForbidden)
		return
	}
	var entries []kv.Entry
	if err := json.NewDecoder(r.Body).Decode(&entries); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	seq, err := replication.ApplyBatch(s.store, entries)
	status := http.StatusOK
	if err != nil {
		status = http.StatusConflict
	}
	writeJSON(w, status, map[string]uint64{"seq": seq})
}

func (s *server) status(w http.ResponseWriter, _ *http.Request) {
	body := map[string]any{"leader": s.leader, "seq": s.store.Seq()}
	if s.repl != nil {
		body["peers"] = s.repl.Status()
	}
	writeJSON(w, http.StatusOK, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
