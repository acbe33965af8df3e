// Package store keeps the inventory in memory, behind a mutex, with
// optimistic concurrency through per-item versions.
package store

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"time"
)

var (
	// ErrNotFound is returned when no item has the requested SKU.
	ErrNotFound = errors.New("item not found")
	// ErrConflict is returned when the caller's version is stale.
	ErrConflict = errors.New("version conflict")
	// ErrInsufficientStock is returned when an adjustment would go negative.
	ErrInsufficientStock = errors.New("insufficient stock")
)

// Item is one stock-keeping unit.
type Item struct {
	SKU        string    `json:"sku"`
	Name       string    `json:"name"`
	Quantity   int       `json:"quantity"`
	PriceCents int64     `json:"price_cents"`
	Tags       []string  `json:"tags,omitempty"`
	Version    int       `json:"version"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Filter selects items for List.
type Filter struct {
	Tag         string
	MinQuantity int
	NamePrefix  string
	Offset      int
	Limit       int
}

// Stats summarises the inventory.
type Stats struct {
	Items         int   `json:"items"`
	Units         int   `json:"units"`
	OutOfStock    int   `json:"out_of_stock"`
	StockValue    int64 `json:"stock_value_cents"`
	Adjustments   int   `json:"adjustments"`
	FailedUpdates int   `json:"failed_updates"`
}

// Memory is a concurrency-safe in-memory store.
type Memory struct {
	mu          sync.RWMutex
	items       map[string]Item
	adjustments int
	failed      int
	now         func() time.Time
}

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{items: make(map[string]Item), now: time.Now}
}

// Get returns the item with the given SKU.
func (m *Memory) Get(sku string) (Item, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	item, ok := m.items[sku]
	if !ok {
		return Item{}, ErrNotFound
	}
	return item, nil
}

// List returns the items matching f, sorted by SKU.
func (m *Memory) List(f Filter) []Item {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Item, 0, len(m.items))
	for _, item := range m.items {
		if item.Quantity < f.MinQuantity {
			continue
		}
		if f.Tag != "" && !hasTag(item.Tags, f.Tag) {
			continue
		}
		if f.NamePrefix != "" && !strings.HasPrefix(strings.ToLower(item.Name), strings.ToLower(f.NamePrefix)) {
			continue
		}
		out = append(out, item)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	if f.Offset >= len(out) {
		return []Item{}
	}
	out = out[f.Offset:]
	if f.Limit > 0 && f.Limit < len(out) {
		out = out[:f.Limit]
	}
	return out
}

func hasTag(tags []string, want string) bool {
	for _, t := range tags {
		if t == want {
			return true
		}
	}
	return false
}

// Put creates or replaces an item. A non-zero expectedVersion must match
// the stored version; zero means "create or overwrite unconditionally".
func (m *Memory) Put(item Item, expectedVersion int) (Item, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, exists := m.items[item.SKU]
	if expectedVersion != 0 && (!exists || old.Version != expectedVersion) {
		m.failed++
		return Item{}, false, ErrConflict
	}
	item.Version = old.Version + 1
	item.UpdatedAt = m.now().UTC()
	m.items[item.SKU] = item
	return item, !exists, nil
}

// Delete removes an item.
func (m *Memory) Delete(sku string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[sku]; !ok {
		return ErrNotFound
	}
	delete(m.items, sku)
	return nil
}

// Adjust adds delta (possibly negative) to an item's quantity.
func (m *Memory) Adjust(sku string, delta int) (Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	item, ok := m.items[sku]
	if !ok {
		m.failed++
		return Item{}, ErrNotFound
	}
	if item.Quantity+delta < 0 {
		m.failed++
		return Item{}, ErrInsufficientStock
	}
	item.Quantity += delta
	item.Version++
	item.UpdatedAt = m.now().UTC()
	m.items[sku] = item
	m.adjustments++
	return item, nil
}

// Stats computes a summary of the inventory.
func (m *Memory) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := Stats{Items: len(m.items), Adjustments: m.adjustments, FailedUpdates: m.failed}
	for _, item := range m.items {
		s.Units += item.Quantity
		s.StockValue += int64(item.Quantity) * item.PriceCents
		if item.Quantity == 0 {
			s.OutOfStock++
		}
	}
	return s
}
