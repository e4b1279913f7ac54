// Package kv is the key-value store a raftviz cluster replicates: the default application of
// the Raft core. Commands are short text lines, so that event lines show them as they are:
//
//	set KEY VALUE
//	get KEY
//	del KEY
//
// Keys hold no spaces; a value is the rest of the line and may hold spaces.
package kv

import (
	"errors"
	"fmt"
	"strings"
)

// Op is an operation kind.
type Op string

// Operations.
const (
	OpSet Op = "set"
	OpGet Op = "get"
	OpDel Op = "del"
)

// Command is one operation on the store.
type Command struct {
	Op    Op
	Key   string
	Value string // OpSet only
}

// Encode renders the command as the text a Raft entry carries.
func (c Command) Encode() []byte {
	if c.Op == OpSet {
		return []byte(string(c.Op) + " " + c.Key + " " + c.Value)
	}
	return []byte(string(c.Op) + " " + c.Key)
}

// ErrBadCommand is wrapped by every error of Parse.
var ErrBadCommand = errors.New("bad command")

// Parse reads a command in the text form (also what users type at raftrun's prompt).
func Parse(text string) (Command, error) {
	text = strings.TrimSpace(text)
	op, rest, _ := strings.Cut(text, " ")
	rest = strings.TrimLeft(rest, " ")
	key, value, _ := strings.Cut(rest, " ")
	switch Op(op) {
	case OpSet:
		if key == "" {
			return Command{}, fmt.Errorf("%w: set needs a key and a value: set KEY VALUE", ErrBadCommand)
		}
		return Command{Op: OpSet, Key: key, Value: value}, nil
	case OpGet, OpDel:
		if key == "" || strings.TrimSpace(value) != "" {
			return Command{}, fmt.Errorf("%w: %s needs exactly one key: %s KEY", ErrBadCommand, op, op)
		}
		return Command{Op: Op(op), Key: key}, nil
	case "":
		return Command{}, fmt.Errorf("%w: empty command", ErrBadCommand)
	}
	return Command{}, fmt.Errorf("%w: unknown operation %q (want set, get or del)", ErrBadCommand, op)
}

// Result is the outcome of applying a command.
type Result struct {
	Value string // get: the value; set/del: the previous value
	Found bool   // whether the key existed before the command
}

// String renders the result for event lines: the value, or "<none>" for a missing key.
func (r Result) String() string {
	if !r.Found {
		return "<none>"
	}
	return r.Value
}

// Store is the replicated map. It is not safe for concurrent use; the node applying the log
// owns it.
type Store struct {
	data map[string]string
}

// New returns an empty store.
func New() *Store { return &Store{data: make(map[string]string)} }

// Apply executes one log entry's command. An entry that is not a valid command (the leader's
// no-op, or garbage) changes nothing and reports an error, the same on every node.
func (s *Store) Apply(data []byte) (Result, error) {
	if len(data) == 0 {
		return Result{}, nil
	}
	c, err := Parse(string(data))
	if err != nil {
		return Result{}, err
	}
	old, found := s.data[c.Key]
	switch c.Op {
	case OpSet:
		s.data[c.Key] = c.Value
	case OpDel:
		delete(s.data, c.Key)
	}
	return Result{Value: old, Found: found}, nil
}

// Get reads a key directly (not linearizable on its own; see the node's read path).
func (s *Store) Get(key string) (string, bool) {
	v, ok := s.data[key]
	return v, ok
}

// Len returns the number of keys.
func (s *Store) Len() int { return len(s.data) }
