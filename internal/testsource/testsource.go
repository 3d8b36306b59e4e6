// Package testsource holds a system of record for tests of packages that
// read through a strategy: an in-memory map of strings whose writes can be
// held at a gate, and namespaces unique to one test run.
package testsource

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/tiercache/tiercache/strategy"
)

// Strings is a strategy.Source of strings held in a map. While Gate is not
// nil and not closed, Store waits for it (or for its context).
type Strings struct {
	mu   sync.Mutex
	rows map[string]string
	// Gate, when not nil, holds every Store until it is closed.
	Gate chan struct{}
}

var _ strategy.Source[string] = (*Strings)(nil)

// NewStrings returns a source holding rows (which it copies).
func NewStrings(rows map[string]string) *Strings {
	s := &Strings{rows: make(map[string]string, len(rows))}
	for k, v := range rows {
		s.rows[k] = v
	}
	return s
}

// Load returns the value of id, or strategy.ErrNotFound.
func (s *Strings) Load(_ context.Context, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.rows[id]
	if !ok {
		return "", strategy.ErrNotFound
	}
	return v, nil
}

// Store writes v as the value of id, once the gate (if any) is open.
func (s *Strings) Store(ctx context.Context, id string, v string) error {
	if s.Gate != nil {
		select {
		case <-s.Gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[id] = v
	return nil
}

// Remove deletes id.
func (s *Strings) Remove(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rows, id)
	return nil
}

// UniqueNamespace returns prefix followed by a suffix unique to this run, so
// that a test's keys never meet those a previous run left in a shared Redis.
func UniqueNamespace(prefix string) string {
	return prefix + strconv.FormatInt(time.Now().UnixNano(), 36)
}
