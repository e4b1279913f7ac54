//go:build raftmutation

package raft

var mutation Mutation

// Mutated reports whether the seeded bug m is switched on.
func Mutated(m Mutation) bool { return mutation == m }

// MutationsEnabled reports whether this build can seed bugs (built with -tags raftmutation).
const MutationsEnabled = true

// SetMutation switches one seeded bug on (NoMutation: none). Not safe to call while nodes
// run.
func SetMutation(m Mutation) { mutation = m }
