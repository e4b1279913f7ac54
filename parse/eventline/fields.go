package eventline

import (
	"iter"
	"strings"
)

// Fields are an event's key=value pairs, in the order written, packed into one string: each key
// and each value is preceded by its length as a uvarint, and kept as read (unquoted). A reader
// holding a million events keeps their fields in one allocation each (with the message, see
// AppendFields) instead of a slice of string pairs: 32 bytes a pair plus the slice, six times the
// text itself for a typical line. A field is found by walking the string, which for the ten or
// so fields of a line costs what a search of the slice did.
type Fields string

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
