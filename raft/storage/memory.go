package storage

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/raftviz/raftviz/raft"
)

// ErrClosed is returned by a storage used after Close.
var ErrClosed = errors.New("storage: closed")

// Memory is a Storage in memory, for tests and the simulator. It models a disk that never
// loses a completed Save: a "crashed" node restarts from the same Memory.
type Memory struct {
	mu      sync.Mutex
	hs      raft.HardState
	snap    *raft.Snapshot
	entries []raft.Entry // after the snapshot
	saves   int
	closed  bool
}

// NewMemory returns an empty in-memory storage.
func NewMemory() *Memory { return &Memory{} }

// Load implements Storage.
func (m *Memory) Load() (raft.HardState, []raft.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hs, slices.Clone(m.entries), nil
}

// Save implements Storage.
func (m *Memory) Save(hs raft.HardState, entries []raft.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if len(entries) > 0 {
		base := m.base()
		first := entries[0].Index
		if first <= base || first > base+uint64(len(m.entries))+1 {
			return fmt.Errorf("storage: entry %d does not follow %d", first, base+uint64(len(m.entries)))
		}
		m.entries = append(m.entries[:first-base-1], entries...)
	}
	if !hs.IsEmpty() {
		m.hs = hs
	}
	m.saves++
	return nil
}

func (m *Memory) base() uint64 {
	if m.snap == nil {
		return 0
	}
	return m.snap.Meta.Index
}

// Snapshot implements Storage.
func (m *Memory) Snapshot() (*raft.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snap == nil {
		return nil, nil
	}
	c := *m.snap
	c.Data = slices.Clone(c.Data)
	return &c, nil
}

// SaveSnapshot implements Storage.
func (m *Memory) SaveSnapshot(s raft.Snapshot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	base := m.base()
	if s.Meta.Index <= base {
		return nil
	}
	// Keep the entries after the snapshot when the log agrees with it.
	var keep []raft.Entry
	if k := s.Meta.Index - base; k <= uint64(len(m.entries)) && m.entries[k-1].Term == s.Meta.Term {
		keep = slices.Clone(m.entries[k:])
	}
	s.Data = slices.Clone(s.Data)
	m.snap, m.entries = &s, keep
	m.saves++
	return nil
}

// Saves counts completed Save calls (a stand-in for fsyncs in tests of batching).
func (m *Memory) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

// Close implements Storage.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Reopen makes a closed Memory usable again, as a restarted process reopens its files.
func (m *Memory) Reopen() *Memory {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = false
	return m
}
