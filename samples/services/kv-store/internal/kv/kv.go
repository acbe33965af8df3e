// Package kv is the replicated key-value state machine: a map plus an
// ordered log of the mutations applied to it.
package kv

import (
	"errors"
	"sort"
	"strings"
	"sync"
)

var (
	// ErrNotFound is returned for a missing key.
	ErrNotFound = errors.New("key not found")
	// ErrCASMismatch is returned when a compare-and-swap precondition fails.
	ErrCASMismatch = errors.New("compare-and-swap mismatch")
	// ErrOutOfOrder is returned when a replicated entry skips a sequence number.
	ErrOutOfOrder = errors.New("entry out of order")
)

// Op is the kind of a mutation.
type Op string

const (
	OpPut    Op = "put"
	OpDelete Op = "delete"
)

// Entry is one mutation in the log.
type Entry struct {
	Seq   uint64 `json:"seq"`
	Op    Op     `json:"op"`
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// Value is a stored value with the sequence number that last wrote it.
type Value struct {
	Data     string `json:"data"`
	Revision uint64 `json:"revision"`
}

// Store is the state machine.
type Store struct {
	mu   sync.RWMutex
	data map[string]Value
	log  []Entry
	seq  uint64
}

// New returns an empty store.
func New() *Store {
	return &Store{data: make(map[string]Value)}
}

// Get returns the value of key.
func (s *Store) Get(key string) (Value, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.data[key]
	if !ok {
		return Value{}, ErrNotFound
	}
	return v, nil
}

// Keys lists the keys with the given prefix, sorted.
func (s *Store) Keys(prefix string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.data))
	for k := range s.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Put writes key unconditionally and returns the log entry.
func (s *Store) Put(key, value string) Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(Entry{Op: OpPut, Key: key, Value: value})
}

// CompareAndSwap writes key only if its current revision is expected
// (0 means "must not exist").
func (s *Store) CompareAndSwap(key, value string, expected uint64) (Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.data[key]
	switch {
	case expected == 0 && ok:
		return Entry{}, ErrCASMismatch
	case expected != 0 && (!ok || cur.Revision != expected):
		return Entry{}, ErrCASMismatch
	}
	return s.appendLocked(Entry{Op: OpPut, Key: key, Value: value}), nil
}

// Delete removes key and returns the log entry.
func (s *Store) Delete(key string) (Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.data[key]; !ok {
		return Entry{}, ErrNotFound
	}
	return s.appendLocked(Entry{Op: OpDelete, Key: key}), nil
}

// Apply applies an entry received from the leader. Entries already
// applied are ignored; a gap is an error so the leader resends.
func (s *Store) Apply(e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Seq <= s.seq {
		return nil
	}
	if e.Seq != s.seq+1 {
		return ErrOutOfOrder
	}
	s.appendLocked(e)
	return nil
}

// Since returns the log entries after seq.
func (s *Store) Since(seq uint64) []Entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].Seq > seq })
	return append([]Entry(nil), s.log[i:]...)
}

// Seq returns the sequence number of the last applied entry.
func (s *Store) Seq() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.seq
}

func (s *Store) appendLocked(e Entry) Entry {
	s.seq++
	e.Seq = s.seq
	switch e.Op {
	case OpPut:
		s.data[e.Key] = Value{Data: e.Value, Revision: e.Seq}
	case OpDelete:
		delete(s.data, e.Key)
	}
	s.log = append(s.log, e)
	return e
}
