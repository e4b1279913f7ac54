package parse

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// decodeRecord is decodeOrdered, fast for the records loggers write: one object of keys whose
// values are plain strings, numbers, true, false or null. A record with anything else (an escape
// in a string, a nested object or array, a byte that is not valid JSON where it stands) is
// decoded by decodeOrdered, so the answer is always encoding/json's.
func decodeRecord(b []byte) (map[string]any, []string, bool) {
	if m, order, ok := decodeFlat(b); ok {
		return m, order, true
	}
	return decodeOrdered(b)
}

// decodeFlat decodes a flat object of plain values; false when b is anything else (which may
// still be JSON: decodeOrdered decides).
func decodeFlat(b []byte) (map[string]any, []string, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, false
	}
	m := make(map[string]any, 8)
	var order []string
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return m, order, true
	}
	for {
		key, end, ok := plainString(b, i)
		if !ok {
			return nil, nil, false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, nil, false
		}
		i = skipSpace(b, i+1)
		var v any
		if v, i, ok = plainValue(b, i); !ok {
			return nil, nil, false
		}
		if _, dup := m[key]; !dup {
			order = append(order, key)
		}
		m[key] = v
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, nil, false
		}
		switch b[i] {
		case '}':
			return m, order, true // what follows the object is not read, as by decodeOrdered
		case ',':
			i = skipSpace(b, i+1)
		default:
			return nil, nil, false
		}
	}
}

// skipSpace skips JSON whitespace from i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a string without escapes at i, in valid UTF-8 without control characters;
// it returns the string and where it ends.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	ascii := true
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			if !ascii && !utf8.Valid(s) {
				return "", 0, false // encoding/json replaces invalid bytes with U+FFFD
			}
			return string(s), j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", 0, false
}

// plainValue reads a plain string, a number, true, false or null at i, as decodeOrdered does
// (numbers as json.Number), and where it ends.
func plainValue(b []byte, i int) (any, int, bool) {
	if i >= len(b) {
		return nil, 0, false
	}
	switch c := b[i]; {
	case c == '"':
		s, end, ok := plainString(b, i)
		return s, end, ok
	case c == '-' || '0' <= c && c <= '9':
		end, ok := numberEnd(b, i)
		if !ok {
			return nil, 0, false
		}
		return json.Number(b[i:end]), end, true
	case c == '{' || c == '[':
		// A nested value (an etcd trace event's, a zap field's): encoding/json decodes it,
		// found where it ends by its brackets.
		end, ok := nestedEnd(b, i)
		if !ok {
			return nil, 0, false
		}
		dec := json.NewDecoder(bytes.NewReader(b[i:end]))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil || dec.More() {
			return nil, 0, false
		}
		return v, end, true
	case hasWord(b, i, "true"):
		return true, i + 4, true
	case hasWord(b, i, "false"):
		return false, i + 5, true
	case hasWord(b, i, "null"):
		return nil, i + 4, true
	}
	return nil, 0, false
}

// hasWord reports whether b holds the literal w at i, followed by a byte that may end a value.
func hasWord(b []byte, i int, w string) bool {
	if len(b)-i < len(w) || string(b[i:i+len(w)]) != w {
		return false
	}
	return i+len(w) == len(b) || endsValue(b[i+len(w)])
}

// endsValue reports whether c may follow a value inside an object.
func endsValue(c byte) bool {
	return c == ',' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// numberEnd checks JSON's number grammar at i (-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?) and returns
// where the number ends; false when what is there is no number followed by the end of a value.
func numberEnd(b []byte, i int) (int, bool) {
	digits := func(j int) int {
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		return j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, i < len(b) && endsValue(b[i])
}

// nestedEnd returns where the object or array at i ends, by its brackets (strings skipped); false
// when it does not end, or ends without a byte that may end a value after it.
func nestedEnd(b []byte, i int) (int, bool) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			for j++; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return j + 1, j+1 < len(b) && endsValue(b[j+1])
			}
		}
	}
	return 0, false
}
