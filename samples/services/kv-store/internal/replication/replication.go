// Package replication ships the leader's log to its followers over HTTP.
package replication

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/example-org/kv-store/internal/kv"
)

// PeerStatus is what the leader knows about one follower.
type PeerStatus struct {
	URL       string    `json:"url"`
	Acked     uint64    `json:"acked"`
	Failures  int       `json:"failures"`
	LastError string    `json:"last_error,omitempty"`
	LastSeen  time.Time `json:"last_seen"`
}

// Replicator pushes entries to followers and tracks their progress.
type Replicator struct {
	store  *kv.Store
	client *http.Client
	mu     sync.Mutex
	peers  map[string]*PeerStatus
}

// New returns a replicator for the given follower base URLs.
func New(store *kv.Store, peerURLs []string) *Replicator {
	r := &Replicator{
		store:  store,
		client: &http.Client{Timeout: 2 * time.Second},
		peers:  make(map[string]*PeerStatus),
	}
	for _, u := range peerURLs {
		if u != "" {
			r.peers[u] = &PeerStatus{URL: u}
		}
	}
	return r
}

// Replicate sends every entry a follower has not acknowledged yet and
// returns how many followers are fully caught up.
func (r *Replicator) Replicate() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	synced := 0
	for _, p := range r.peers {
		if err := r.push(p); err != nil {
			p.Failures++
			p.LastError = err.Error()
			continue
		}
		p.LastError = ""
		p.LastSeen = time.Now().UTC()
		synced++
	}
	return synced
}

func (r *Replicator) push(p *PeerStatus) error {
	entries := r.store.Since(p.Acked)
	if len(entries) == 0 {
		return nil
	}
	body, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	resp, err := r.client.Post(p.URL+"/internal/replicate", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var ack struct {
		Seq uint64 `json:"seq"`
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusConflict:
		// The follower has a gap: restart from what it reports.
		if err := json.NewDecoder(resp.Body).Decode(&ack); err != nil {
			return fmt.Errorf("decoding conflict from %s: %w", p.URL, err)
		}
		p.Acked = ack.Seq
		return errors.New("follower behind, rewinding")
	default:
		return fmt.Errorf("follower %s answered %s", p.URL, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&ack); err != nil {
		return fmt.Errorf("decoding ack from %s: %w", p.URL, err)
	}
	p.Acked = ack.Seq
	return nil
}

// Status returns a copy of every peer's status.
func (r *Replicator) Status() []PeerStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]PeerStatus, 0, len(r.peers))
	for _, p := range r.peers {
		out = append(out, *p)
	}
	return out
}

// ApplyBatch is the follower side: it applies entries in order and
// reports the last applied sequence number.
func ApplyBatch(store *kv.Store, entries []kv.Entry) (uint64, error) {
	for _, e := range entries {
		if err := store.Apply(e); err != nil {
			return store.Seq(), err
		}
	}
	return store.Seq(), nil
}
