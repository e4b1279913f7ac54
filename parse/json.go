package parse

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/parse/profile"
)

// test2json is one event of a go test -json stream.
type test2json struct {
	Time    string   `json:"Time"`
	Action  string   `json:"Action"`
	Package string   `json:"Package"`
	Test    string   `json:"Test"`
	Output  *string  `json:"Output"`
	Elapsed *float64 `json:"Elapsed"`
}

// jsonState holds output fragments: test2json splits long lines (at 1 KiB and more) into several
// output events, and only the last one ends with a newline.
type jsonState struct {
	partial map[string][]byte
}

func (s *jsonState) flush(p *Parser) {
	keys := make([]string, 0, len(s.partial))
	for k := range s.partial {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pkg, test, _ := strings.Cut(k, "\x00")
		p.jsonOutput(pkg, test, s.partial[k])
	}
	clear(s.partial)
}

// jsonLine handles one line of a go test -json stream.
func (p *Parser) jsonLine(line []byte) {
	t := bytes.TrimSpace(line)
	var ev test2json
	if len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &ev) != nil || ev.Action == "" {
		// Not a test2json event: go test -json passes through what it cannot frame (a build
		// error, a crashed binary's stderr). Read it as a text line.
		p.textLine(line, true)
		return
	}
	switch ev.Action {
	case "start", "bench", "build-output", "build-fail":
		// Build events (Go 1.24+) carry ImportPath and no Package: they are not test output.
	case "run":
		if ev.Test != "" {
			ts := p.run(ev.Test)
			ts.t.Package = ev.Package
			p.updateAmbiguity()
		}
	case "pause":
		if ts := p.running[ev.Test]; ts != nil {
			ts.paused = true
			if p.current == ts {
				p.current = nil
			}
			p.updateAmbiguity()
		}
	case "cont":
		if ts := p.running[ev.Test]; ts != nil {
			ts.paused, ts.ended = false, false
			p.current = ts
			p.updateAmbiguity()
		}
	case "pass", "fail", "skip":
		st := map[string]Status{"pass": StatusPass, "fail": StatusFail, "skip": StatusSkip}[ev.Action]
		var elapsed time.Duration
		if ev.Elapsed != nil {
			elapsed = time.Duration(*ev.Elapsed * float64(time.Second))
		}
		if ev.Test == "" {
			p.endPackage(PackageResult{Name: ev.Package, Status: st, Elapsed: elapsed})
			return
		}
		if ts := p.running[ev.Test]; ts != nil {
			p.complete(ts, st, elapsed)
		}
	case "output":
		if ev.Output == nil {
			return
		}
		out := []byte(*ev.Output)
		key := ev.Package + "\x00" + ev.Test
		if !bytes.HasSuffix(out, []byte("\n")) {
			p.json.partial[key] = append(p.json.partial[key], out...)
			return
		}
		if frag, ok := p.json.partial[key]; ok {
			out = append(frag, out...)
			delete(p.json.partial, key)
		}
		p.jsonOutput(ev.Package, ev.Test, bytes.TrimSuffix(out, []byte("\n")))
	default:
		p.notUnderstood(p.target(), line)
	}
}

// jsonOutput handles one complete output line of a test2json stream.
func (p *Parser) jsonOutput(pkg, test string, line []byte) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	ts := p.running[test]
	if ts == nil {
		if test != "" {
			// Output of a test after its result (test2json writes "--- PASS" before "pass").
			if isFramingText(line) {
				return
			}
		}
		if isFramingText(line) || isPackageSummary(line) {
			switch string(line) {
			case "PASS":
				p.sum.Final = StatusPass
			case "FAIL":
				p.sum.Final = StatusFail
			}
			return
		}
		ts = p.target()
	} else if isFramingText(line) {
		return
	}
	saved := p.current
	p.current = ts
	p.textLine(line, false)
	p.current = saved
}

// isFramingText reports go test's own lines inside a JSON stream, whose meaning the JSON actions
// already carry.
func isFramingText(line []byte) bool {
	t := bytes.TrimLeft(line, " ")
	return bytes.HasPrefix(t, []byte("=== ")) || bytes.HasPrefix(t, []byte("--- PASS")) ||
		bytes.HasPrefix(t, []byte("--- FAIL")) || bytes.HasPrefix(t, []byte("--- SKIP")) ||
		bytes.Equal(line, []byte("PASS")) || bytes.Equal(line, []byte("FAIL"))
}

func isPackageSummary(line []byte) bool {
	return bytes.HasPrefix(line, []byte("ok  ")) || bytes.HasPrefix(line, []byte("FAIL\t")) ||
		bytes.HasPrefix(line, []byte("?   \t"))
}

// jsonEvent reads a JSON object that is a structured event (docs/FORMAT.md JSON form) or an
// etcd-io/raft trace event, possibly wrapped in a logger's record (zap's {"ts":..,"event":{..}}).
func (p *Parser) jsonEvent(b []byte) (Event, bool) {
	var m map[string]any
	var order []string
	var ok bool
	if pre := p.pre; pre != nil && pre.jsonDone {
		m, order, ok = pre.json, pre.jsonOrder, pre.jsonOK // read ahead (ahead.go)
	} else {
		m, order, ok = decodeRecord(b)
	}
	if !ok {
		return Event{}, false
	}
	if _, ok := m[eventline.KindKey]; ok {
		e, ok := p.structuredJSON(m, order)
		p.lockBuiltin(&e)
		return e, ok
	}
	if isEtcdTrace(m) {
		return p.traceEvent(m, nil)
	}
	// A logger record wrapping a trace event: take the time from the wrapper.
	keys := sortedKeys(m)
	for _, k := range keys {
		if inner, ok := m[k].(map[string]any); ok && isEtcdTrace(inner) {
			return p.traceEvent(inner, m)
		}
	}
	return p.loggerRecord(m, order, false)
}

func (p *Parser) traceEvent(m, wrapper map[string]any) (Event, bool) {
	e, ok := p.etcdTrace(m, wrapper)
	p.lockBuiltin(&e)
	p.applyFacts(&e, p.dialect.trace)
	return e, ok
}

// recordProfile is the profile whose keys and facts read logger records: the json profile, or
// the one forced or detected for the input in its place.
func (p *Parser) recordProfile() *profile.Profile {
	if a := p.dialect.active; a != nil && a.Builtin == profile.BuiltinJSON {
		return a
	}
	return p.dialect.json
}

// loggerRecord reads a structured logger's record, JSON (zap, zerolog, logrus, log/slog) or
// logfmt (slog's text handler, go-kit), that names its node in one of the json profile's node
// keys, or is a line of a per-node file; other records are not events.
func (p *Parser) loggerRecord(m map[string]any, order []string, logfmt bool) (Event, bool) {
	pr := p.recordProfile()
	nodeKeys, msgKeys, timeKeys, levelKeys := pr.JSONKeys()
	node, nodeKey := "", ""
	for _, k := range nodeKeys {
		if v, ok := m[k]; ok {
			switch v.(type) {
			case string, json.Number:
				node, nodeKey = scalar(v), k
			}
			if node != "" {
				break
			}
		}
	}
	skip := map[string]bool{nodeKey: true}
	var msg string
	for _, k := range msgKeys {
		if s, ok := m[k].(string); ok {
			msg, skip[k] = s, true
			break
		}
	}
	// The message may be in a library's wording (etcd-io/raft's inside zap's msg), which names
	// the node where the record does not.
	facts := pr
	if w := p.wordingOf([]byte(msg)); w != nil {
		facts = w
		// The wording's node prefix is read off the message either way (its facts read what
		// follows it); the record's own node key, when it has one, wins.
		if n, rest, ok := w.MessageNode([]byte(msg)); ok {
			msg = string(rest)
			if node == "" {
				node = n
			}
		}
	}
	e := Event{Syntax: SyntaxProfile, Msg: cleanText([]byte(msg))}
	switch {
	case p.opts.NodePerFile && p.opts.FileNode != "":
		// One server's file, by the user's word: a key that names a node names another (hclog's
		// node="Node at ADDR", a peer's id), and is kept as a field.
		e.Node = p.internString(p.opts.FileNode)
		if nodeKey != "" {
			delete(skip, nodeKey)
		}
	case node != "":
		e.Node = p.nodeName(facts, node)
	default:
		return Event{}, false // a record of no server
	}
	var fs []eventline.Field
	e.Time = -1
	for _, k := range timeKeys {
		if v, ok := m[k]; ok {
			p.setJSONTime(&e, v)
			skip[k] = true
			break
		}
	}
	if e.Time == -1 {
		e.Time, e.Flags = p.lastTime, p.lastFlags&(FlagTime|FlagDate)
	}
	for _, k := range levelKeys {
		if _, ok := m[k]; ok {
			skip[k] = true
		}
	}
	for _, k := range order {
		if !skip[k] {
			fs = flatten(fs, k, m[k])
		}
	}
	e.Fields = eventline.MakeFields(fs...)
	d := &p.dialect
	if !d.locked {
		d.locked, d.active, d.logfmt = true, pr, logfmt
		p.sum.Profile = d.envelopeName()
	}
	if facts != pr && len(fs) > 0 {
		// A library's wording: the record's other keys are its message's args (hclog's, written
		// as JSON or through slog), which the wording's rules read as its text lines write them
		// ("vote granted: from=X term=T": T is the voter's term, not a field of the event).
		var envelope, args []eventline.Field
		for _, fl := range fs {
			if recordEnvelopeKeys[fl.Key] {
				envelope = append(envelope, fl)
			} else {
				args = append(args, fl)
			}
		}
		if len(args) > 0 {
			e.Msg = cleanText([]byte(hclogText(e.Msg, args)))
			e.Fields = eventline.MakeFields(envelope...)
		}
	}
	p.applyFacts(&e, facts)
	return e, true
}

// recordEnvelopeKeys are a record's keys that say where a line came from, not what it says:
// they are kept as fields, and left out of hclogText.
var recordEnvelopeKeys = map[string]bool{"logger": true, "@module": true, "module": true, "component": true,
	"caller": true, "@caller": true, "source": true}

// hclogText writes a record's message and args as hclog's text format does: "msg: k=v k=\"v w\"".
func hclogText(msg string, args []eventline.Field) string {
	var b strings.Builder
	b.WriteString(msg)
	b.WriteByte(':')
	for _, f := range args {
		b.WriteByte(' ')
		b.WriteString(f.Key)
		b.WriteByte('=')
		if f.Value == "" || strings.ContainsAny(f.Value, " \"=") {
			b.WriteString(strconv.Quote(f.Value))
		} else {
			b.WriteString(f.Value)
		}
	}
	return b.String()
}

// wordingOf returns the library wording of an envelope's messages: the one decided for the input,
// or the first whose wording rule matches msg, which then decides it.
func (p *Parser) wordingOf(msg []byte) *profile.Profile {
	d := &p.dialect
	if d.wording != nil || len(msg) == 0 {
		return d.wording
	}
	for _, w := range d.wordings {
		if w.Wording(msg) {
			d.wording = w
			p.sum.Profile = d.envelopeName()
			if ts := p.target(); ts.t.Profile != "" {
				ts.t.Profile = p.sum.Profile
			}
			return w
		}
	}
	return nil
}

// decodeOrdered decodes a JSON object and also returns its keys in the order written, so that
// fields keep the order the node gave them, as in the text form.
func decodeOrdered(b []byte) (map[string]any, []string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, false
	}
	m := make(map[string]any, 8)
	var order []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, false
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, false
		}
		if _, dup := m[key]; !dup {
			order = append(order, key)
		}
		m[key] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, false
	}
	return m, order, true
}

func (p *Parser) structuredJSON(m map[string]any, order []string) (Event, bool) {
	e := Event{Syntax: SyntaxJSON}
	var fs []eventline.Field
	e.Kind = p.intern([]byte(scalar(m[eventline.KindKey])))
	e.Node = p.intern([]byte(scalar(m[eventline.NodeKey])))
	if e.Node == "" {
		e.Node = "?"
	}
	if s, ok := m["msg"].(string); ok {
		e.Msg = cleanText([]byte(s))
	}
	p.setJSONTime(&e, m["time"])
	for _, k := range order {
		switch k {
		case eventline.KindKey, eventline.NodeKey, "msg", "time", "level":
			continue
		}
		fs = flatten(fs, k, m[k])
	}
	e.Fields = eventline.MakeFields(fs...)
	return e, true
}

// setJSONTime reads an RFC 3339 string or a Unix seconds number; without either the event is
// numbered in input order so it still sorts where it was written.
func (p *Parser) setJSONTime(e *Event, v any) {
	switch t := v.(type) {
	case string:
		if ns, ok := profile.UnixNanoRFC3339(t); ok {
			e.Time, e.Flags = ns, e.Flags|FlagTime|FlagDate
			return
		}
		if tt, err := time.Parse(time.RFC3339Nano, t); err == nil {
			e.Time, e.Flags = tt.UnixNano(), e.Flags|FlagTime|FlagDate
			return
		}
	case json.Number:
		if f, err := t.Float64(); err == nil && f > 0 {
			// Seconds (zap's ts), or milli-, micro- or nanoseconds (zerolog's options), told
			// apart by size: any of them is a date after 2001.
			switch {
			case f > 1e17:
				e.Time = int64(f)
			case f > 1e14:
				e.Time = int64(f * 1e3)
			case f > 1e11:
				e.Time = int64(f * 1e6)
			default:
				e.Time = int64(f * 1e9)
			}
			e.Flags |= FlagTime | FlagDate
			return
		}
	}
	e.Time = int64(p.lineNo)
}

func isEtcdTrace(m map[string]any) bool {
	_, name := m["name"].(string)
	_, nid := m["nid"]
	return name && nid
}

// etcdTrace maps an etcd-io/raft TracingEvent onto an Event: Kind is the event name, fields are
// term/vote/commit/role/log/conf and the message's fields prefixed msg_.
func (p *Parser) etcdTrace(m, wrapper map[string]any) (Event, bool) {
	e := Event{Syntax: SyntaxEtcdTrace}
	var fs []eventline.Field
	name, _ := m["name"].(string)
	e.Kind = p.intern([]byte(name))
	e.Node = p.intern([]byte(scalar(m["nid"])))
	fs = append(fs, eventline.Field{Key: "trace", Value: e.Kind})
	var tv any
	if wrapper != nil {
		if v, ok := wrapper["ts"]; ok {
			tv = v
		} else {
			tv = wrapper["time"]
		}
	}
	p.setJSONTime(&e, tv)
	if st, ok := m["state"].(map[string]any); ok {
		for _, k := range []string{"term", "vote", "commit"} {
			if v, ok := st[k]; ok {
				fs = append(fs, eventline.Field{Key: k, Value: scalar(v)})
			}
		}
	}
	for _, k := range []string{"role", "log"} {
		if v, ok := m[k]; ok {
			fs = append(fs, eventline.Field{Key: k, Value: scalar(v)})
		}
	}
	if conf, ok := m["conf"].([]any); ok && len(conf) > 0 {
		fs = flatten(fs, "conf", conf[0])
		if len(conf) > 1 {
			if l, ok := conf[1].([]any); ok && len(l) > 0 {
				fs = flatten(fs, "conf_joint", conf[1])
			}
		}
	}
	var msg map[string]any
	for _, k := range []string{"msg", "cc", "prop"} {
		if v, ok := m[k]; ok && v != nil {
			fs = flatten(fs, k, v)
		}
	}
	msg, _ = m["msg"].(map[string]any)
	// A readable message, since traces carry none: "SendAppendEntriesRequest MsgApp 1->2 ...".
	var sb strings.Builder
	sb.WriteString(name)
	if msg != nil {
		sb.WriteString(" ")
		sb.WriteString(scalar(msg["type"]))
		sb.WriteString(" ")
		sb.WriteString(scalar(msg["from"]))
		sb.WriteString("->")
		sb.WriteString(scalar(msg["to"]))
		for _, k := range []string{"term", "index", "logTerm", "entries", "commit"} {
			if v, ok := msg[k]; ok {
				sb.WriteString(" " + k + "=" + scalar(v))
			}
		}
		if r, _ := msg["reject"].(bool); r {
			sb.WriteString(" reject")
		}
	} else if st, ok := m["state"].(map[string]any); ok {
		sb.WriteString(" term=" + scalar(st["term"]) + " commit=" + scalar(st["commit"]))
	}
	e.Msg = cleanText([]byte(sb.String()))
	e.Fields = eventline.MakeFields(fs...)
	return e, true
}

// flatten appends v under key, joining nested objects' keys with '_' and lists with ','.
func flatten(dst []eventline.Field, key string, v any) []eventline.Field {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			dst = flatten(dst, key+"_"+k, t[k])
		}
		return dst
	case []any:
		parts := make([]string, 0, len(t))
		for _, x := range t {
			parts = append(parts, scalar(x))
		}
		return append(dst, eventline.Field{Key: key, Value: strings.Join(parts, ",")})
	}
	return append(dst, eventline.Field{Key: key, Value: scalar(v)})
}

// scalar renders a decoded JSON value as the text form would write it.
func scalar(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
