//go:build !raftmutation

package raft

// Mutated reports whether the seeded bug m is switched on: never, in this build.
func Mutated(m Mutation) bool { return false }

// MutationsEnabled reports whether this build can seed bugs (built with -tags raftmutation).
const MutationsEnabled = false

// SetMutation is a no-op without -tags raftmutation.
func SetMutation(m Mutation) {}
