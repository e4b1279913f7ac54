package parse

import (
	"encoding/json"
	"strconv"
)

// logfmt reads records of key=value pairs, the text form of structured loggers: log/slog's
// TextHandler, go-kit/log, logrus's text formatter, Heroku's logfmt:
//
//	time=2026-12-06T20:55:38.356Z level=INFO msg="entering leader state" node=n1 term=3
//
// A value is a bare word or a quoted string with Go escapes. A record is read as a JSON logger
// record is (the json profile's keys and facts), so either envelope composes with a library's
// wording in the message.

// logfmtMinPairs is how many key=value pairs a line needs to be a record: fewer is a sentence
// with an "=" in it.
const logfmtMinPairs = 2

// looksLogfmt reports whether a line may be a logfmt record: it begins with a key and "=". Cheap,
// so that other lines pay nothing more.
func looksLogfmt(line []byte) bool {
	i := 0
	for i < len(line) && isKeyByte(line[i]) {
		i++
	}
	return i > 0 && i < len(line) && line[i] == '='
}

func isKeyByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '@' || c == '/' ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// decodeLogfmt decodes a logfmt record into a map (numbers as json.Number, as decodeOrdered
// gives them) and its keys in the order written; false when the line is not one (a pair without
// "=", an unterminated quote, fewer than logfmtMinPairs pairs, or no message key among msgKeys).
func decodeLogfmt(line []byte, msgKeys []string) (map[string]any, []string, bool) {
	m := map[string]any{}
	var order []string
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			break
		}
		k := i
		for i < len(line) && isKeyByte(line[i]) {
			i++
		}
		if i == k || i == len(line) || line[i] != '=' {
			return nil, nil, false
		}
		key := string(line[k:i])
		i++ // '='
		var val string
		quoted := i < len(line) && line[i] == '"'
		if quoted {
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return nil, nil, false
			}
			s, err := strconv.Unquote(string(line[i : j+1]))
			if err != nil {
				return nil, nil, false
			}
			val, i = s, j+1
		} else {
			v := i
			for i < len(line) && line[i] != ' ' {
				i++
			}
			val = string(line[v:i])
		}
		if _, dup := m[key]; !dup {
			order = append(order, key)
		}
		if !quoted && isNumber(val) {
			m[key] = json.Number(val)
		} else {
			m[key] = val
		}
	}
	if len(order) < logfmtMinPairs {
		return nil, nil, false
	}
	for _, k := range msgKeys {
		if _, ok := m[k].(string); ok {
			return m, order, true
		}
	}
	return nil, nil, false
}

// isNumber reports whether s is a decimal number as JSON writes one (a Unix time, a term).
func isNumber(s string) bool {
	if s == "" {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		case c == '-' && i == 0 && len(s) > 1:
		default:
			return false
		}
	}
	return true
}

// logfmtEvent reads a logfmt record as a logger record (see loggerRecord).
func (p *Parser) logfmtEvent(line []byte) (Event, bool) {
	_, msgKeys, _, _ := p.recordProfile().JSONKeys()
	m, order, ok := decodeLogfmt(line, msgKeys)
	if !ok {
		return Event{}, false
	}
	return p.loggerRecord(m, order, true)
}
