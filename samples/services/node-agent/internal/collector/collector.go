// Package collector reads node-level statistics from a procfs root.
package collector

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrMalformed is wrapped by parse errors of procfs files.
var ErrMalformed = errors.New("malformed procfs file")

// Sample is one reading of the node's state.
type Sample struct {
	Node         string            `json:"node"`
	TakenAt      time.Time         `json:"taken_at"`
	Load1        float64           `json:"load1"`
	Load5        float64           `json:"load5"`
	Load15       float64           `json:"load15"`
	MemTotalKiB  uint64            `json:"mem_total_kib"`
	MemAvailKiB  uint64            `json:"mem_available_kib"`
	UptimeSecond float64           `json:"uptime_seconds"`
	Errors       map[string]string `json:"errors,omitempty"`
}

// MemoryPressure reports how much of the memory is in use, from 0 to 1.
func (s Sample) MemoryPressure() float64 {
	if s.MemTotalKiB == 0 {
		return 0
	}
	return 1 - float64(s.MemAvailKiB)/float64(s.MemTotalKiB)
}

// Collector takes samples and remembers the most recent ones.
type Collector struct {
	node    string
	root    string
	keep    int
	mu      sync.Mutex
	history []Sample
}

// New returns a collector for the procfs mounted at root.
func New(node, root string, keep int) *Collector {
	if keep < 1 {
		keep = 1
	}
	return &Collector{node: node, root: root, keep: keep}
}

// Collect takes one sample. Individual file errors are recorded in the
// sample rather than failing the whole collection.
func (c *Collector) Collect() Sample {
	s := Sample{Node: c.node, TakenAt: time.Now().UTC()}
	record := func(name string, err error) {
		if err == nil {
			return
		}
		if s.Errors == nil {
			s.Errors = make(map[string]string)
		}
		s.Errors[name] = err.Error()
	}
	var err error
	s.Load1, s.Load5, s.Load15, err = c.loadAvg()
	record("loadavg", err)
	s.MemTotalKiB, s.MemAvailKiB, err = c.memInfo()
	record("meminfo", err)
	s.UptimeSecond, err = c.uptime()
	record("uptime", err)

	c.mu.Lock()
	c.history = append(c.history, s)
	if len(c.history) > c.keep {
		c.history = c.history[len(c.history)-c.keep:]
	}
	c.mu.Unlock()
	return s
}

// History returns up to n of the most recent samples, newest last.
func (c *Collector) History(n int) []Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n <= 0 || n > len(c.history) {
		n = len(c.history)
	}
	return append([]Sample(nil), c.history[len(c.history)-n:]...)
}

func (c *Collector) read(name string) (string, error) {
	data, err := os.ReadFile(filepath.Join(c.root, name))
	if err != nil {
		return "", err
	}
	return string(data), nil
}

func (c *Collector) loadAvg() (l1, l5, l15 float64, err error) {
	text, err := c.read("loadavg")
	if err != nil {
		return 0, 0, 0, err
	}
	fields := strings.Fields(text)
	if len(fields) < 3 {
		return 0, 0, 0, fmt.Errorf("loadavg: %w: %d fields", ErrMalformed, len(fields))
	}
	var vals [3]float64
	for i := range vals {
		if vals[i], err = strconv.ParseFloat(fields[i], 64); err != nil {
			return 0, 0, 0, fmt.Errorf("loadavg: %w: %v", ErrMalformed, err)
		}
	}
	return vals[0], vals[1], vals[2], nil
}

func (c *Collector) memInfo() (total, avail uint64, err error) {
	text, err := c.read("meminfo")
	if err != nil {
		return 0, 0, err
	}
	var free, cached uint64
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, 0, fmt.Errorf("meminfo: %w: empty value for %s", ErrMalformed, key)
		}
		v, perr := strconv.ParseUint(fields[0], 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("meminfo: %w: %s: %v", ErrMalformed, key, perr)
		}
		switch key {
		case "MemTotal":
			total = v
		case "MemAvailable":
			avail = v
		case "MemFree":
			free = v
		case "Cached":
			cached = v
		}
	}
	if total == 0 {
		return 0, 0, fmt.Errorf("meminfo: %w: no MemTotal", ErrMalformed)
	}
	if avail == 0 {
		// Kernels older than 3.14 have no MemAvailable; estimate it.
		avail = free + cached
	}
	return total, avail, nil
}

func (c *Collector) uptime() (float64, error) {
	text, err := c.read("uptime")
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return 0, fmt.Errorf("uptime: %w: empty", ErrMalformed)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, fmt.Errorf("uptime: %w: %v", ErrMalformed, err)
	}
	return v, nil
}
