// Package api exposes the inventory as a JSON HTTP API.
package api

import (
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"strconv"

	"github.com/example-org/inventory-api/internal/pricing"
	"github.com/example-org/inventory-api/internal/store"
	"github.com/example-org/inventory-api/internal/validate"
)

const maxBodyBytes = 64 << 10

// Server holds the handlers' dependencies.
type Server struct {
	store *store.Memory
	log   *log.Logger
}

// New returns an http.Handler serving the inventory API.
func New(st *store.Memory, logger *log.Logger) http.Handler {
	s := &Server{store: st, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /v1/items", s.listItems)
	mux.HandleFunc("GET /v1/items/{sku}", s.getItem)
	mux.HandleFunc("PUT /v1/items/{sku}", s.putItem)
	mux.HandleFunc("DELETE /v1/items/{sku}", s.deleteItem)
	mux.HandleFunc("POST /v1/items/{sku}/adjust", s.adjustItem)
	mux.HandleFunc("GET /v1/items/{sku}/quote", s.quoteItem)
	mux.HandleFunc("GET /v1/stats", s.stats)
	return mux
}

type itemPayload struct {
	Name       string   `json:"name"`
	Quantity   int      `json:"quantity"`
	PriceCents int64    `json:"price_cents"`
	Tags       []string `json:"tags"`
}

type adjustPayload struct {
	Delta  int    `json:"delta"`
	Reason string `json:"reason"`
}

type errorBody struct {
	Error  string          `json:"error"`
	Fields validate.Errors `json:"fields,omitempty"`
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.Filter{Tag: q.Get("tag"), NamePrefix: q.Get("prefix"), Limit: 50}
	var err error
	if f.MinQuantity, err = intParam(q.Get("min_quantity"), 0); err != nil {
		s.fail(w, http.StatusBadRequest, "min_quantity: "+err.Error())
		return
	}
	if f.Offset, err = intParam(q.Get("offset"), 0); err != nil || f.Offset < 0 {
		s.fail(w, http.StatusBadRequest, "offset must be a non-negative integer")
		return
	}
	if f.Limit, err = intParam(q.Get("limit"), 50); err != nil || f.Limit < 1 || f.Limit > 500 {
		s.fail(w, http.StatusBadRequest, "limit must be between 1 and 500")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": s.store.List(f)})
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) {
	item, err := s.store.Get(r.PathValue("sku"))
	if err != nil {
		s.storeError(w, err)
		return
	}
	w.Header().Set("ETag", strconv.Itoa(item.Version))
	writeJSON(w, http.StatusOK, item)
}

func (s *Server) putItem(w http.ResponseWriter, r *http.Request) {
	sku := r.PathValue("sku")
	var p itemPayload
	if !s.decode(w, r, &p) {
		return
	}
	if err := validate.Item(sku, p.Name, p.Quantity, p.PriceCents, p.Tags); err != nil {
		s.invalid(w, err)
		return
	}
	expected := 0
	if match := r.Header.Get("If-Match"); match != "" {
		v, err := strconv.Atoi(match)
		if err != nil {
			s.fail(w, http.StatusBadRequest, "If-Match must be an item version")
			return
		}
		expected = v
	}
	item := store.Item{SKU: sku, Name: p.Name, Quantity: p.Quantity, PriceCents: p.PriceCents, Tags: p.Tags}
	saved, created, err := s.store.Put(item, expected)
	if err != nil {
		s.storeError(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, saved)
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Delete(r.PathValue("sku")); err != nil {
		s.storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) adjustItem(w http.ResponseWriter, r *http.Request) {
	var p adjustPayload
	if !s.decode(w, r, &p) {
		return
	}
	if err := validate.Adjustment(p.Delta, p.Reason); err != nil {
		s.invalid(w, err)
		return
	}
	item, err := s.store.Adjust(r.PathValue("sku"), p.Delta)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, item)
}

func (s *Server) quoteItem(w http.ResponseWriter, r *http.Request) {
	item, err := s.store.Get(r.PathValue("sku"))
	if err != nil {
		s.storeError(w, err)
		return
	}
	units, err := intParam(r.URL.Query().Get("units"), 1)
	if err != nil || units < 1 {
		s.fail(w, http.StatusBadRequest, "units must be a positive integer")
		return
	}
	quote, err := pricing.Compute(item.PriceCents, units, r.URL.Query().Get("coupon"), r.URL.Query().Get("region"))
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, quote)
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.store.Stats())
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		s.fail(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func (s *Server) invalid(w http.ResponseWriter, err error) {
	var fields validate.Errors
	errors.As(err, &fields)
	writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: "validation failed", Fields: fields})
}

func (s *Server) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrConflict):
		s.fail(w, http.StatusPreconditionFailed, err.Error())
	case errors.Is(err, store.ErrInsufficientStock):
		s.fail(w, http.StatusConflict, err.Error())
	default:
		s.log.Printf("unexpected store error: %v", err)
		s.fail(w, http.StatusInternalServerError, "internal error")
	}
}

func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func intParam(raw string, def int) (int, error) {
	if raw == "" {
		return def, nil
	}
	return strconv.Atoi(raw)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
