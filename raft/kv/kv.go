// Package kv is the key-value store a raftviz cluster replicates: the default application of
// the Raft core. Commands are short text lines, so that event lines show them as they are:
//
//	set KEY VALUE
//	get KEY
//	del KEY
//
// Keys hold no spaces; a value is the rest of the line and may hold spaces.
//
// A command may carry a client session, "@CLIENT:SEQ set KEY VALUE": the store remembers the
// highest sequence number applied for each client and its result, and answers a retried
// command (same client, same or lower number) from that memory instead of applying it again,
// so a client that resends after a timeout has its command applied once (Raft dissertation
// 6.3).
//
// A client gets its session from the log: "register" applied at index N opens session "sN",
// unique because log indexes are. A command in a registered session that the store does not
// hold (never registered, or expired) fails with ErrUnknownSession and changes nothing: a
// client never takes a dropped command for a success. Other session names are for harnesses
// that own their names (the simulator's clients); they open implicitly.
//
// The table is bounded: when it holds MaxSessions registered sessions, registering another
// expires the one least recently used (by log index: the same on every node, with no clock
// involved), but never one used in the last MinIdle entries: then register fails with
// ErrSessionsFull, and a client's retry soon after its first attempt is always answered from
// the table, never refused. Sessions opened implicitly have a table of their own, bounded the
// same way but by least recent use alone, so that harness names cannot flood registered
// sessions out.
package kv

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Op is an operation kind.
type Op string

// Operations.
const (
	OpSet Op = "set"
	OpGet Op = "get"
	OpDel Op = "del"
	// OpRegister opens a client session; its Result.Value is the session's name.
	OpRegister Op = "register"
)

// MaxSessions bounds each session table (see the package comment).
const MaxSessions = 4096

// MinIdle is how many log entries a registered session must go unused before it may expire.
const MinIdle = 8 * MaxSessions

// ErrSessionsFull is the result of a register while every registered session was used in the
// last MinIdle entries: none may expire yet. Nothing is applied; the client tries again later.
var ErrSessionsFull = errors.New("the session table is full of sessions in use: register again later")

// ErrUnknownSession is the result of a command in a registered session the store does not hold:
// it expired, or was never registered. The command was not applied; the client registers again.
var ErrUnknownSession = errors.New("unknown client session (expired or never registered): register again")

// ErrSeqReused is the result of a command whose session sequence number was used for another
// command: the client reused a number (a retry is the same command again). Nothing is applied.
var ErrSeqReused = errors.New("sequence number already used for another command in this session")

// Command is one operation on the store.
type Command struct {
	Op    Op
	Key   string
	Value string // OpSet only
	// Client and Seq name a session (both empty/zero: none).
	Client string
	Seq    uint64
}

// Encode renders the command as the text a Raft entry carries.
func (c Command) Encode() []byte {
	var b []byte
	if c.Client != "" {
		b = append(b, '@')
		b = append(b, c.Client...)
		b = append(b, ':')
		b = strconv.AppendUint(b, c.Seq, 10)
		b = append(b, ' ')
	}
	b = append(b, c.Op...)
	if c.Op == OpRegister {
		return b
	}
	b = append(b, ' ')
	b = append(b, c.Key...)
	if c.Op == OpSet {
		b = append(b, ' ')
		b = append(b, c.Value...)
	}
	return b
}

// ErrBadCommand is wrapped by every error of Parse.
var ErrBadCommand = errors.New("bad command")

// Parse reads a command in the text form (also what users type at raftrun's prompt).
func Parse(text string) (Command, error) {
	text = strings.TrimSpace(text)
	var client string
	var seq uint64
	if strings.HasPrefix(text, "@") {
		session, rest, _ := strings.Cut(text[1:], " ")
		c, n, ok := strings.Cut(session, ":")
		v, err := strconv.ParseUint(n, 10, 64)
		if !ok || c == "" || err != nil || v == 0 {
			return Command{}, fmt.Errorf("%w: bad session %q (want @CLIENT:SEQ, SEQ from 1)", ErrBadCommand, "@"+session)
		}
		client, seq, text = c, v, strings.TrimLeft(rest, " ")
	}
	c, err := parseOp(text)
	c.Client, c.Seq = client, seq
	return c, err
}

func parseOp(text string) (Command, error) {
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
	case OpRegister:
		if rest != "" {
			return Command{}, fmt.Errorf("%w: register takes no arguments", ErrBadCommand)
		}
		return Command{Op: OpRegister}, nil
	case "":
		return Command{}, fmt.Errorf("%w: empty command", ErrBadCommand)
	}
	return Command{}, fmt.Errorf("%w: unknown operation %q (want set, get or del)", ErrBadCommand, op)
}

// Result is the outcome of applying a command.
type Result struct {
	Value string // get: the value; set/del: the previous value
	Found bool   // whether the key existed before the command
	// Duplicate says the command was a retry of one already applied (its first answer); First
	// is then the index it was applied at (0: not known, a retry of an older command).
	Duplicate bool
	First     uint64
}

// String renders the result for event lines: the value, or "<none>" for a missing key.
func (r Result) String() string {
	if !r.Found {
		return "<none>"
	}
	return r.Value
}

// Store is the replicated map, a node's state machine (raft/node.StateMachine). It is not safe
// for concurrent use: the node applying the log owns it, and others read it through the node
// (Node.Read, Node.View).
type Store struct {
	data     map[string]string
	sessions map[string]session
}

type session struct {
	seq    uint64
	result Result
	last   uint64 // log index of the session's last command (its register, at first)
	// cmd is a hash of the command applied at seq (without its session prefix), so that a
	// retry is told from another command under the same number; 0: not known (an older
	// snapshot).
	cmd uint64
}

// commandHash is what session.cmd holds of a command.
func commandHash(c Command) uint64 {
	c.Client, c.Seq = "", 0
	h := fnv.New64a()
	h.Write(c.Encode())
	return h.Sum64() | 1 // never 0, which means "not known"
}

// New returns an empty store.
func New() *Store { return &Store{data: make(map[string]string), sessions: make(map[string]session)} }

// Apply is Execute as a node's state machine (raft/node.StateMachine) calls it: the answer is a
// Result.
func (s *Store) Apply(index uint64, cmd []byte) (any, error) { return s.Execute(index, cmd) }

// Execute executes one log entry's command, the entry at index (sessions are named and aged by
// log index). An entry that is not a valid command (garbage) changes nothing and reports an
// error, the same on every node; an empty one (a leader's no-op) changes nothing.
func (s *Store) Execute(index uint64, data []byte) (Result, error) {
	if len(data) == 0 {
		return Result{}, nil
	}
	c, err := Parse(string(data))
	if err != nil {
		return Result{}, err
	}
	if c.Op == OpRegister {
		if c.Client != "" {
			return Result{}, fmt.Errorf("%w: register opens a session; it runs in none", ErrBadCommand)
		}
		name := "s" + strconv.FormatUint(index, 10)
		if !s.expire(index, true) {
			return Result{}, ErrSessionsFull
		}
		s.sessions[name] = session{last: index}
		return Result{Value: name, Found: true}, nil
	}
	if c.Client != "" {
		last, ok := s.sessions[c.Client]
		if ok && c.Seq == last.seq && last.cmd != 0 && last.cmd != commandHash(c) {
			return Result{}, fmt.Errorf("session %s, seq %d: %w", c.Client, c.Seq, ErrSeqReused)
		}
		if ok && c.Seq <= last.seq {
			// A retry of a command already applied: answer as the first time, change nothing.
			res := last.result
			res.Duplicate = true
			if c.Seq == last.seq {
				res.First = last.last
			}
			return res, nil
		}
		if !ok && registered(c.Client) {
			return Result{}, fmt.Errorf("session %s: %w", c.Client, ErrUnknownSession)
		}
		if !ok {
			s.expire(index, false)
		}
	}
	old, found := s.data[c.Key]
	switch c.Op {
	case OpSet:
		s.data[c.Key] = c.Value
	case OpDel:
		delete(s.data, c.Key)
	}
	res := Result{Value: old, Found: found}
	if c.Client != "" {
		s.sessions[c.Client] = session{seq: c.Seq, result: res, last: index, cmd: commandHash(c)}
	}
	return res, nil
}

// registered reports whether a session name is one register gives ("s" and a log index).
func registered(name string) bool {
	if len(name) < 2 || name[0] != 's' {
		return false
	}
	_, err := strconv.ParseUint(name[1:], 10, 64)
	return err == nil
}

// expire makes room for one more session of a table (registered or implicit) when it is full:
// its session least recently used goes (the smallest last index; names break ties), the same
// choice on every node. A registered session used in the last MinIdle entries before index does
// not: then it reports false, and nothing expires.
func (s *Store) expire(index uint64, reg bool) bool {
	for {
		n := 0
		var oldest string
		var at uint64
		for name, ss := range s.sessions {
			if registered(name) != reg {
				continue
			}
			n++
			if oldest == "" || ss.last < at || ss.last == at && name < oldest {
				oldest, at = name, ss.last
			}
		}
		if n < MaxSessions {
			return true
		}
		if reg && index-at < MinIdle {
			return false
		}
		delete(s.sessions, oldest)
	}
}

// Sessions returns the number of client sessions held.
func (s *Store) Sessions() int { return len(s.sessions) }

// snapshotForm is the store's snapshot encoding (JSON: maps are written in key order, so the
// same state always gives the same bytes).
type snapshotForm struct {
	Data     map[string]string      `json:"data"`
	Sessions map[string]sessionForm `json:"sessions,omitempty"`
}

type sessionForm struct {
	Seq   uint64 `json:"seq"`
	Value string `json:"value,omitempty"`
	Found bool   `json:"found,omitempty"`
	Last  uint64 `json:"last,omitempty"`
	Cmd   uint64 `json:"cmd,omitempty"`
}

// Snapshot encodes the whole store, sessions included. It never fails.
func (s *Store) Snapshot() ([]byte, error) {
	f := snapshotForm{Data: s.data, Sessions: make(map[string]sessionForm, len(s.sessions))}
	for c, ss := range s.sessions {
		f.Sessions[c] = sessionForm{Seq: ss.seq, Value: ss.result.Value, Found: ss.result.Found, Last: ss.last, Cmd: ss.cmd}
	}
	return json.Marshal(f)
}

// Restore replaces the store with a snapshot's state.
func (s *Store) Restore(data []byte) error {
	var f snapshotForm
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("kv: bad snapshot: %w", err)
	}
	s.data = f.Data
	if s.data == nil {
		s.data = make(map[string]string)
	}
	s.sessions = make(map[string]session, len(f.Sessions))
	for c, ss := range f.Sessions {
		s.sessions[c] = session{seq: ss.Seq, result: Result{Value: ss.Value, Found: ss.Found}, last: ss.Last, cmd: ss.Cmd}
	}
	return nil
}

// Get reads a key directly (not linearizable on its own; see the node's read path).
func (s *Store) Get(key string) (string, bool) {
	v, ok := s.data[key]
	return v, ok
}

// Len returns the number of keys.
func (s *Store) Len() int { return len(s.data) }
