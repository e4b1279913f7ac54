package parse

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/raftviz/raftviz/parse/eventline"
)

// This file reads one event line: the classic "HH:MM:SS.uuuuuu [ID] message" form, with or without
// a date, and the structured " | ev=" fields of docs/FORMAT.md on top of it. It is the hot path of
// the parser (a million lines a second and more), so it scans bytes by hand: no regexps, and one
// allocation per line for the message.

// lineEvent is what parseEventLine found in a line.
type lineEvent struct {
	clock   int64 // nanoseconds since midnight
	date    bool
	year    int
	month   int
	day     int
	node    []byte
	rest    []byte // the message, with any field block still attached
	indent  bool   // the line was indented (t.Log output)
	matched bool
}

// parseEventLine recognises a classic-prefixed line. It accepts leading indentation and a
// "file_test.go:NN: " prefix (t.Log), an optional "YYYY/MM/DD " date, HH:MM:SS with 0 to 9
// fractional digits, and "[ID] " (ID: no spaces, no ']').
func parseEventLine(b []byte, ev *lineEvent) bool {
	*ev = lineEvent{}
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	ev.indent = i > 0
	b = b[i:]
	if len(b) < 8 || !isDigit(b[0]) {
		if ev.indent {
			// t.Log output: "file_test.go:45: message".
			if rest, ok := skipSourcePrefix(b); ok {
				return parseEventLine(rest, ev)
			}
		}
		return false
	}
	// Date: 2006/01/02 (log.Ldate) or 2006-01-02 with a space or 'T' after it.
	if len(b) >= 11 && b[4] == '/' || len(b) >= 11 && b[4] == '-' && (b[10] == ' ' || b[10] == 'T') {
		y, ok1 := num(b[0:4])
		m, ok2 := num(b[5:7])
		d, ok3 := num(b[8:10])
		if !ok1 || !ok2 || !ok3 || b[7] != b[4] || (b[10] != ' ' && b[10] != 'T') {
			return false
		}
		ev.date, ev.year, ev.month, ev.day = true, y, m, d
		b = b[11:]
	}
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return false
	}
	h, ok1 := num(b[0:2])
	mi, ok2 := num(b[3:5])
	s, ok3 := num(b[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || s > 60 {
		return false
	}
	ns := int64(h)*3600e9 + int64(mi)*60e9 + int64(s)*1e9
	b = b[8:]
	if len(b) > 0 && (b[0] == '.' || b[0] == ',') {
		j := 1
		scale := int64(1e8)
		var frac int64
		for j < len(b) && isDigit(b[j]) {
			if j <= 9 {
				frac += int64(b[j]-'0') * scale
				scale /= 10
			}
			j++
		}
		if j == 1 {
			return false
		}
		ns += frac
		b = b[j:]
	}
	// Zone suffix of RFC 3339 style stamps is not part of the classic form; a 'Z' is tolerated.
	if len(b) > 0 && b[0] == 'Z' {
		b = b[1:]
	}
	if len(b) < 4 || b[0] != ' ' || b[1] != '[' {
		return false
	}
	end := bytes.IndexByte(b[2:], ']')
	if end <= 0 || end > 64 {
		return false
	}
	id := b[2 : 2+end]
	for _, c := range id {
		if c <= ' ' || c == '[' || c == 0x7f {
			return false
		}
	}
	rest := b[2+end+1:]
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return false
		}
		rest = rest[1:]
	}
	ev.clock, ev.node, ev.rest, ev.matched = ns, id, rest, true
	return true
}

// skipSourcePrefix strips "name.go:123: " from t.Log output.
func skipSourcePrefix(b []byte) ([]byte, bool) {
	colon := bytes.IndexByte(b, ':')
	if colon < 4 || !bytes.HasSuffix(b[:colon], []byte(".go")) || bytes.IndexByte(b[:colon], ' ') >= 0 {
		return nil, false
	}
	j := colon + 1
	for j < len(b) && isDigit(b[j]) {
		j++
	}
	if j == colon+1 || j+1 >= len(b) || b[j] != ':' || b[j+1] != ' ' {
		return nil, false
	}
	return b[j+2:], true
}

func num(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// cleanText turns raw bytes into a message that is safe to lay out in a table: valid UTF-8, ANSI
// escape sequences removed, tabs and other control characters replaced by spaces.
func cleanText(b []byte) string {
	s, _ := cleanTextASCII(b)
	return s
}

// cleanTextASCII is cleanText that also reports whether the text was printable ASCII.
func cleanTextASCII(b []byte) (string, bool) {
	if !printableASCII(b) {
		return cleanSlow(b), false
	}
	return string(b), true
}

func cleanSlow(b []byte) string {
	if bytes.IndexByte(b, 0x1b) >= 0 {
		b = stripANSI(b)
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			if c < ' ' || c == 0x7f {
				c = ' '
			}
			sb.WriteByte(c)
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			sb.WriteRune(utf8.RuneError)
		case r >= 0x80 && r < 0xa0: // C1 controls
			sb.WriteByte(' ')
		default:
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

// stripANSI removes CSI (ESC [ ... final) and OSC (ESC ] ... BEL or ESC \) sequences and lone
// two-byte escapes, the colour and title codes that test runners and loggers emit.
func stripANSI(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != 0x1b || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		switch b[i+1] {
		case '[':
			j := i + 2
			for j < len(b) && (b[j] < 0x40 || b[j] > 0x7e) {
				j++
			}
			i = j
		case ']':
			j := i + 2
			for j < len(b) && b[j] != 0x07 && !(b[j] == 0x1b && j+1 < len(b) && b[j+1] == '\\') {
				j++
			}
			if j < len(b) && b[j] == 0x1b {
				j++
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// toEvent converts a recognised line into an Event, splitting off structured fields.
func (p *Parser) toEvent(le *lineEvent) Event {
	e := Event{Syntax: SyntaxClassic}
	e.Time, e.Flags = p.classicTime(le)
	e.Node = p.intern(le.node)
	if pre := p.pre; pre != nil && pre.classicMsg {
		// Read ahead (ahead.go): a line without a field block, its message made as below.
		if e.Msg = pre.msg; pre.ascii {
			e.Flags |= FlagASCII
		}
		return e
	}
	rest := le.rest
	if i := fieldBlock(rest); i >= 0 {
		fields, err := eventline.ParseFields(cleanFieldBlock(rest[i+3:]), p.fields[:0])
		p.fields = fields
		if err == nil && len(fields) > 0 && fields[0].Key == eventline.KindKey {
			e.Syntax = SyntaxText
			e.Kind = p.intern([]byte(fields[0].Value))
			msg := rest[:i]
			if printableASCII(msg) {
				// The message and the fields share one allocation.
				p.text = eventline.AppendFields(append(p.text[:0], msg...), fields[1:]...)
				text := string(p.text)
				e.Msg, e.Fields = text[:len(msg)], eventline.Fields(text[len(msg):])
				e.Flags |= FlagASCII
				return e
			}
			e.Fields = eventline.MakeFields(fields[1:]...)
			rest = msg
		}
	}
	if p.opts.Facts == NodeFacts && !p.factsNameNodes(p.dialect.classic) {
		return e // a reader of counts (--list): no message shown, and no rule to read a node in it
	}
	var ascii bool
	if e.Msg, ascii = cleanTextASCII(rest); ascii {
		e.Flags |= FlagASCII
	}
	return e
}

// fieldBlock is where a line's field block begins (its " | ev=" separator), or -1. The search
// is for the '|', which few messages hold: bytes.Index would stop at every space.
func fieldBlock(rest []byte) int {
	for off := 0; ; {
		i := bytes.IndexByte(rest[off:], eventline.Separator[1])
		if i < 0 {
			return -1
		}
		i += off - 1 // where the separator would begin
		if i >= 0 && bytes.HasPrefix(rest[i:], []byte(eventline.Separator)) {
			return i
		}
		off = i + 2
	}
}

// classicTime is the time of a classic line and its flags: a date's, or a time of day's, which
// counts on across midnight.
func (p *Parser) classicTime(le *lineEvent) (int64, uint8) {
	if le.date {
		t := time.Date(le.year, time.Month(le.month), le.day, 0, 0, 0, 0, time.Local)
		return t.UnixNano() + le.clock, FlagTime | FlagDate
	}
	return p.clock.adjust(le.clock), FlagTime
}

// printableASCII reports whether cleanText would keep b as it is.
func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < ' ' || c == 0x7f || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// cleanFieldBlock makes the field block a string; quoting keeps its bytes exact, so only trailing
// whitespace is removed.
func cleanFieldBlock(b []byte) string {
	return string(bytes.TrimRight(b, " \t"))
}

// dayClock turns times of day into a monotone count across midnight: classic lines have no date, and
// a run that starts at 23:59:59 must not sort its later lines before its first ones.
type dayClock struct {
	last int64
	days int64
	seen bool
}

const day = int64(24 * 3600e9)

func (c *dayClock) adjust(clock int64) int64 {
	t := clock + c.days*day
	if c.seen && t < c.last-day/2 {
		c.days++
		t += day
	}
	c.last, c.seen = t, true
	return t
}
