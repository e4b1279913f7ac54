// Package eventline encodes and decodes the raftviz event-line format (docs/FORMAT.md).
//
// It is shared by the writer (the Raft nodes, through the slog handlers in this package) and the
// reader (package parse), so the two can never disagree about quoting or separators.
package eventline

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the format version this package writes and reads.
const Version = 1

// Separator starts the field block of a text event line. The first occurrence counts: an encoder
// never writes '|' in a message, while a quoted field value may contain the separator.
const Separator = " | ev="

// ClusterNode is the node id of events that concern the whole cluster, such as a partition.
const ClusterNode = "*"

// Field is one key=value pair of an event line, in the order written.
type Field struct {
	Key   string
	Value string
}

// Event kinds (the ev field), as listed in docs/FORMAT.md.
const (
	KindStart      = "start"
	KindStop       = "stop"
	KindCrash      = "crash"
	KindRestart    = "restart"
	KindDisconnect = "disconnect"
	KindReconnect  = "reconnect"
	KindPartition  = "partition"
	KindHeal       = "heal"
	KindState      = "state"
	KindTerm       = "term"
	KindTimer      = "timer"
	KindVote       = "vote"
	KindLeader     = "leader"
	KindSend       = "send"
	KindRecv       = "recv"
	KindDrop       = "drop"
	KindPropose    = "propose"
	KindRedirect   = "redirect"
	KindAppend     = "append"
	KindConflict   = "conflict"
	KindTruncate   = "truncate"
	KindPersist    = "persist"
	KindCommit     = "commit"
	KindApply      = "apply"
	KindCorrupt    = "corrupt"
	KindConf       = "conf"
	KindSnapshot   = "snapshot"
	KindCompact    = "compact"
	KindTransfer   = "transfer"
	KindRead       = "read"
	KindInvoke     = "invoke"
	KindReturn     = "return"
	KindSlow       = "slow"
)

// IsFault reports whether kind is a fault injected or observed by the harness: these events get a
// marker in timing tables and spans in the timeline's fault lane.
func IsFault(kind string) bool {
	switch kind {
	case KindCrash, KindRestart, KindDisconnect, KindReconnect, KindPartition, KindHeal:
		return true
	}
	return false
}

// AppendTime appends t as HH:MM:SS.uuuuuu, the classic prefix's clock.
func AppendTime(dst []byte, t time.Time) []byte {
	h, m, s := t.Clock()
	us := t.Nanosecond() / 1000
	dst = append(dst, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.')
	var frac [6]byte
	for i := 5; i >= 0; i-- {
		frac[i] = byte('0' + us%10)
		us /= 10
	}
	return append(dst, frac[:]...)
}

// AppendText appends one complete text event line, newline included:
//
//	HH:MM:SS.uuuuuu [node] msg | ev=kind k=v ...
func AppendText(dst []byte, t time.Time, node, msg, kind string, fields []Field) []byte {
	dst = AppendTime(dst, t)
	dst = append(dst, " ["...)
	dst = append(dst, node...)
	dst = append(dst, "] "...)
	dst = appendMessage(dst, msg)
	dst = append(dst, Separator...)
	dst = AppendValue(dst, kind)
	for _, f := range fields {
		dst = append(dst, ' ')
		dst = append(dst, f.Key...)
		dst = append(dst, '=')
		dst = AppendValue(dst, f.Value)
	}
	return append(dst, '\n')
}

// appendMessage writes msg so that it can never be mistaken for the field block or break the line.
func appendMessage(dst []byte, msg string) []byte {
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		switch {
		case c == '\n' || c == '\r' || c == '\t':
			c = ' '
		case c == '|':
			c = '/'
		}
		dst = append(dst, c)
	}
	return dst
}

// AppendValue appends v bare when that is unambiguous, and Go-quoted otherwise.
func AppendValue(dst []byte, v string) []byte {
	if needsQuote(v) {
		return strconv.AppendQuote(dst, v)
	}
	return append(dst, v...)
}

func needsQuote(v string) bool {
	if v == "" {
		return true
	}
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '"' || c == '=' || c == '|' || c == '\\' || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// SplitText splits the part of a text line after "[node] " into the human message and the field
// block (which starts with "ev="). ok is false when the line has no field block.
func SplitText(rest string) (msg, fields string, ok bool) {
	i := strings.Index(rest, Separator)
	if i < 0 {
		// A message may be empty: "[1]  | ev=..." leaves rest starting at the separator's space.
		if strings.HasPrefix(rest, Separator[1:]) {
			return "", rest[2:], true
		}
		return rest, "", false
	}
	return rest[:i], rest[i+3:], true
}

// ErrSyntax reports a malformed field block.
var ErrSyntax = errors.New("eventline: malformed field")

// ParseFields parses a field block "ev=kind k=v ..." and appends its fields to dst.
// On a syntax error it returns the fields read so far and ErrSyntax.
func ParseFields(s string, dst []Field) ([]Field, error) {
	for {
		for len(s) > 0 && s[0] == ' ' {
			s = s[1:]
		}
		if s == "" {
			return dst, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return dst, ErrSyntax
		}
		key := s[:eq]
		if strings.IndexByte(key, ' ') >= 0 {
			return dst, ErrSyntax
		}
		s = s[eq+1:]
		var val string
		if len(s) > 0 && s[0] == '"' {
			end := quotedEnd(s)
			if end < 0 {
				return dst, ErrSyntax
			}
			v, err := strconv.Unquote(s[:end])
			if err != nil {
				return dst, ErrSyntax
			}
			val, s = v, s[end:]
		} else {
			sp := strings.IndexByte(s, ' ')
			if sp < 0 {
				sp = len(s)
			}
			val, s = s[:sp], s[sp:]
		}
		dst = append(dst, Field{Key: key, Value: val})
	}
}

// quotedEnd returns the index just past the closing quote of the Go string literal at the start of s.
func quotedEnd(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// Get returns the value of key in fields and whether it was present.
func Get(fields []Field, key string) (string, bool) {
	for _, f := range fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}
