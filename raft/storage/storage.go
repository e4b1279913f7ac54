// Package storage keeps a Raft node's durable state: its hard state (term, vote, commit) and its
// log. A node must not answer or send anything before what it promised is on stable storage.
package storage

import "github.com/raftviz/raftviz/raft"

// Storage is a node's durable state.
type Storage interface {
	// Load returns the persisted hard state and log entries: consecutive indexes starting
	// right after the snapshot (at 1 without one).
	Load() (raft.HardState, []raft.Entry, error)
	// Snapshot returns the newest persisted snapshot, or nil.
	Snapshot() (*raft.Snapshot, error)
	// SaveSnapshot makes a snapshot durable and discards the log entries it covers.
	SaveSnapshot(s raft.Snapshot) error
	// Save makes hs (unless empty) and entries durable before it returns. entries are
	// consecutive; when entries[0].Index is at or below the last stored index, the stored log is
	// truncated there first (a follower overwriting a conflicting suffix).
	Save(hs raft.HardState, entries []raft.Entry) error
	// Close releases the storage. A crashed node's storage is abandoned without Close.
	Close() error
}
