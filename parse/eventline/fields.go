package eventline

import (
	"iter"
	"strings"
)

// Fields are an event's key=value pairs, in the order written, packed into one string: each key
// and each value is preceded by its length as a uvarint, and kept as read (unquoted); one
// that is a token (a key or word most lines of this format carry: term, state, follower) is
// written as a zero byte and the token's number instead. A reader holding a million events
// keeps their fields in one allocation each (with the message, see AppendFields) instead of a
// slice of string pairs: 32 bytes a pair plus the slice, six times the text itself for a
// typical line; the tokens halve what is left. A field is found by walking the string, which
// for the ten or so fields of a line costs what a search of the slice did.
type Fields string

// tokens are the keys of docs/FORMAT.md, by how often a simulated run writes them, and the
// words their values most often are. A part's token number is its index; "" is 0. The list
// is only ever appended to (a number, once given, names the same token).
var tokens = [...]string{"",
	// keys
	"state", "term", "index", "cmd", "eterm", "result", "type", "rpc", "to", "from", "entries",
	"read_id", "commit", "prev_term", "prev_index", "mterm", "success", "match", "reason",
	"first", "last_index", "prev", "last_term", "vote", "action", "timer", "granted", "last",
	"timeout", "candidate", "conflict_term", "conflict_index", "op_id", "op", "key", "client",
	"leader", "value", "ok", "groups", "peers", "votes", "mode", "prevote", "leader_term",
	"peer", "offset", "err", "error", "id", "node", "applied", "snapshot", "size", "read",
	// values
	"follower", "precandidate", "AppendEntries", "AppendEntriesReply", "RequestVote",
	"RequestVoteReply", "PreVote", "PreVoteReply", "InstallSnapshot", "InstallSnapshotReply",
	"TimeoutNow", "true", "false", "noop", "partition", "election", "heartbeat", "fire",
	"reset", "stop", "crashed", "higher_term", "loss", "none", "<none>", "campaign", "get",
	"set", "append", "stale_log", "stale_term", "already_voted", "dead", "transfer",
}

// tokenSlots finds a token's number by a hash of its length and end bytes, probing on
// (cheaper than a map lookup, for the twenty or so parts of every line read).
var tokenSlots = func() (slots [512]byte) {
	for i := 1; i < len(tokens); i++ {
		if _, dup := tokenOf(tokens[i], &slots); dup {
			panic("eventline: token " + tokens[i] + " listed twice")
		}
		h := tokenHash(tokens[i])
		for slots[h] != 0 {
			h = (h + 1) % uint(len(slots))
		}
		slots[h] = byte(i)
	}
	return slots
}()

func tokenHash(s string) uint {
	return (uint(len(s))*131 + uint(s[0])*31 + uint(s[len(s)-1])) % 512
}

// tokenOf returns s's token number and whether it is one.
func tokenOf(s string, slots *[512]byte) (byte, bool) {
	if s == "" {
		return 0, true
	}
	for h := tokenHash(s); slots[h] != 0; h = (h + 1) % uint(len(slots)) {
		if tokens[slots[h]] == s {
			return slots[h], true
		}
	}
	return 0, false
}

// MakeFields packs fs.
func MakeFields(fs ...Field) Fields {
	if len(fs) == 0 {
		return ""
	}
	return Fields(AppendFields(nil, fs...))
}

// AppendFields appends the packed form of fs to dst: Fields(dst[n:]) once dst is a string.
func AppendFields(dst []byte, fs ...Field) []byte {
	for _, f := range fs {
		dst = appendPart(dst, f.Key)
		dst = appendPart(dst, f.Value)
	}
	return dst
}

func appendPart(dst []byte, s string) []byte {
	if t, ok := tokenOf(s, &tokenSlots); ok {
		return append(dst, 0, t)
	}
	n := uint64(len(s))
	for n >= 0x80 {
		dst = append(dst, byte(n)|0x80)
		n >>= 7
	}
	dst = append(dst, byte(n))
	return append(dst, s...)
}

// part splits the length-prefixed string at the start of s from the rest; ok is false when s
// is not packed (only a Fields converted from arbitrary text can be).
func part(s string) (p, rest string, ok bool) {
	if s != "" && s[0] == 0 {
		if len(s) < 2 || int(s[1]) >= len(tokens) {
			return "", "", false
		}
		return tokens[s[1]], s[2:], true
	}
	var n uint64
	for shift, i := uint(0), 0; i < len(s) && shift < 64; shift, i = shift+7, i+1 {
		c := s[i]
		n |= uint64(c&0x7f) << shift
		if c < 0x80 {
			s = s[i+1:]
			if n > uint64(len(s)) {
				return "", "", false
			}
			return s[:n], s[n:], true
		}
	}
	return "", "", false
}

// All yields the fields in order.
func (f Fields) All() iter.Seq2[string, string] {
	return func(yield func(key, value string) bool) {
		s := string(f)
		for s != "" {
			k, rest, ok := part(s)
			if !ok {
				return
			}
			v, rest, ok := part(rest)
			if !ok || !yield(k, v) {
				return
			}
			s = rest
		}
	}
}

// Get returns the value of key and whether it is present (the first, if written twice).
func (f Fields) Get(key string) (string, bool) {
	s := string(f)
	for s != "" {
		k, rest, ok := part(s)
		if !ok {
			return "", false
		}
		v, rest, ok := part(rest)
		if !ok {
			return "", false
		}
		if k == key {
			return v, true
		}
		s = rest
	}
	return "", false
}

// Len returns the number of fields.
func (f Fields) Len() int {
	n := 0
	for range f.All() {
		n++
	}
	return n
}

// Slice returns the fields unpacked.
func (f Fields) Slice() []Field {
	var out []Field
	for k, v := range f.All() {
		out = append(out, Field{Key: k, Value: v})
	}
	return out
}

// String renders the fields as a line's field block writes them: k=v k2="quoted value".
func (f Fields) String() string {
	var b strings.Builder
	for k, v := range f.All() {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.Write(AppendValue(nil, v))
	}
	return b.String()
}
