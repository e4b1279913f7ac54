package eventline

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// formatDoc is docs/FORMAT.md read as tables: the kind tables (ev -> fields column) and the
// message table (type -> fields column), plus the example lines of its code blocks.
type formatDoc struct {
	kinds    map[string]string
	messages map[string]string
	text     []string // text event lines of ``` blocks
	json     []string // JSON event lines of ```json blocks
}

var backticked = regexp.MustCompile("`([^`]*)`")

func readFormatDoc(t *testing.T) formatDoc {
	t.Helper()
	b, err := os.ReadFile("../../docs/FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	d := formatDoc{kinds: map[string]string{}, messages: map[string]string{}}
	section, table := "", ""
	block := ""
	inBlock := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock
			block = strings.TrimPrefix(line, "```")
			continue
		case inBlock:
			if block == "json" && strings.HasPrefix(line, "{") {
				d.json = append(d.json, line)
			} else if strings.Contains(line, Separator) && !strings.HasPrefix(line, "HH:") {
				d.text = append(d.text, line)
			}
			continue
		case strings.HasPrefix(line, "## "):
			section = line
			continue
		case strings.HasPrefix(line, "| "):
			if table == "" {
				table = line // a table's header row
			}
		default:
			table = ""
			continue
		}
		if section != "## Event kinds" {
			continue
		}
		row := strings.TrimSuffix(strings.TrimPrefix(strings.ReplaceAll(line, `\|`, "\x00"), "| "), "|")
		cells := strings.Split(row, " | ")
		first := backticked.FindAllStringSubmatch(cells[0], -1)
		if first == nil || line == table {
			continue // a header row and its --- row
		}
		switch {
		case strings.HasPrefix(table, "| `ev` |") && len(cells) == 3:
			d.kinds[first[0][1]] = cells[2]
		case strings.HasPrefix(table, "| type |") && len(cells) == 2:
			for _, typ := range first {
				d.messages[typ[1]] = cells[1]
			}
		}
	}
	if len(d.kinds) < 20 || len(d.messages) < 10 || len(d.text) == 0 || len(d.json) == 0 {
		t.Fatalf("FORMAT.md read wrongly: %d kinds, %d message types, %d text and %d JSON examples",
			len(d.kinds), len(d.messages), len(d.text), len(d.json))
	}
	return d
}

// words returns the backticked identifiers of a fields column: the field names and the values
// FORMAT.md spells out for them.
func words(cell string) []string {
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
		if identifier.MatchString(m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

var identifier = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// prose lists values FORMAT.md spells in a fields column that are not in a closed vocabulary:
// vote=none and leader=none for "nobody".
var prose = []string{"none"}

// TestFormatDocumentsSchema pins docs/FORMAT.md to Schema both ways: every kind, field and
// closed value the code may write is documented in its kind's row, and every identifier a row
// documents is one the code may write, so neither can change alone.
func TestFormatDocumentsSchema(t *testing.T) {
	d := readFormatDoc(t)
	check := func(what, cell string, specs ...Spec) {
		documented := words(cell)
		known := slices.Clone(prose)
		for _, s := range specs {
			for _, f := range slices.Concat(s.Required, s.Optional) {
				known = append(known, f)
				if !slices.Contains(documented, f) {
					t.Errorf("%s: field %q is written but not documented", what, f)
				}
			}
			for f, vals := range s.Values {
				for _, v := range vals {
					known = append(known, v)
					if !slices.Contains(documented, v) {
						t.Errorf("%s: %s=%s is written but not documented", what, f, v)
					}
				}
			}
		}
		for _, w := range documented {
			if !slices.Contains(known, w) {
				t.Errorf("%s: FORMAT.md documents %q, which the code never writes", what, w)
			}
		}
	}
	for kind, spec := range Schema {
		cell, ok := d.kinds[kind]
		if !ok {
			t.Errorf("kind %q is written but has no row in FORMAT.md", kind)
			continue
		}
		check("ev="+kind, cell, spec)
	}
	for kind := range d.kinds {
		if _, ok := Schema[kind]; !ok {
			t.Errorf("FORMAT.md documents kind %q, which the code never writes", kind)
		}
	}
	for typ, spec := range MessageFields {
		cell, ok := d.messages[typ]
		if !ok {
			t.Errorf("message type %q is written but has no row in FORMAT.md", typ)
			continue
		}
		check("type="+typ, cell, spec)
	}
	for typ := range d.messages {
		if _, ok := MessageFields[typ]; !ok {
			t.Errorf("FORMAT.md documents message type %q, which the code never writes", typ)
		}
	}
}

// TestFormatExamples parses every example of FORMAT.md: each text line checks against Schema
// and re-encodes to itself, each JSON line checks against Schema, and slog's JSON handler as
// NewJSONHandler configures it writes the documented spelling.
func TestFormatExamples(t *testing.T) {
	d := readFormatDoc(t)
	for _, line := range d.text {
		clock, rest, _ := strings.Cut(line, " [")
		node, rest, _ := strings.Cut(rest, "] ")
		msg, block, ok := SplitText(rest)
		fields, err := ParseFields(block, nil)
		if !ok || err != nil {
			t.Errorf("example does not parse (%v): %s", err, line)
			continue
		}
		if err := Check(fields); err != nil {
			t.Errorf("example: %v: %s", err, line)
		}
		ts, err := time.Parse("15:04:05.000000", clock)
		if err != nil {
			t.Errorf("example clock: %v: %s", err, line)
			continue
		}
		again := AppendText(nil, ts, node, msg, fields[0].Value, fields[1:])
		if string(again) != line+"\n" {
			t.Errorf("example does not re-encode to itself:\n got %q\nwant %q", again, line)
		}
	}
	for _, line := range d.json {
		fields, err := jsonFields([]byte(line))
		if err != nil {
			t.Errorf("JSON example: %v: %s", err, line)
			continue
		}
		if err := Check(fields); err != nil {
			t.Errorf("JSON example: %v: %s", err, line)
		}
	}
}

// jsonFields reads a JSON event line as fields in the order written, ev first, leaving out the
// keys every line has (time, level, node, msg).
func jsonFields(line []byte) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var kind *Field
	var fields []Field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		v, err := dec.Token()
		if err != nil {
			return nil, err
		}
		f := Field{Key: k.(string), Value: jsonString(v)}
		switch f.Key {
		case "time", "level", "node", "msg":
		case KindKey:
			kind = &f
		default:
			fields = append(fields, f)
		}
	}
	if kind == nil {
		return nil, os.ErrNotExist
	}
	return append([]Field{*kind}, fields...), nil
}

func jsonString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// TestDurationsSpelledAlikeInBothForms: a duration reads "215ms" in text and in JSON (slog's
// JSON handler alone would write nanoseconds, 215000000).
func TestDurationsSpelledAlikeInBothForms(t *testing.T) {
	var text, js bytes.Buffer
	for _, h := range []slog.Handler{NewTextHandler(&text, nil), NewJSONHandler(&js, nil)} {
		r := slog.NewRecord(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), slog.LevelDebug, "election timeout", 0)
		r.AddAttrs(slog.String(NodeKey, "1"), slog.String(KindKey, KindTimer), slog.Uint64("term", 1),
			slog.String("state", "follower"), slog.String("timer", "election"), slog.String("action", "fire"),
			slog.Duration("timeout", 215*time.Millisecond))
		if err := h.Handle(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(text.String(), " timeout=215ms") {
		t.Errorf("text: %s", text.String())
	}
	if !strings.Contains(js.String(), `"timeout":"215ms"`) {
		t.Errorf("JSON: %s", js.String())
	}
	fields, err := jsonFields(bytes.TrimSpace(js.Bytes()))
	if err != nil || Check(fields) != nil {
		t.Errorf("JSON line does not check: %v %v", err, Check(fields))
	}
}

// TestCheckRejects shows each kind of departure Check reports, so that a check that passes
// everything cannot hide behind the tests above.
func TestCheckRejects(t *testing.T) {
	for _, line := range []string{
		"ev=nosuchkind term=1",
		"ev=vote term=1 state=follower candidate=2 granted=true reason=because",
		"ev=vote term=1 state=follower candidate=2 granted=true",
		"ev=vote term=1 state=follower candidate=2 granted=true reason=ok colour=blue",
		"ev=send term=1 state=leader rpc=1-1 type=Gossip to=2",
		"ev=send term=1 state=leader rpc=1-1 type=RequestVote to=2 last_index=0",
		"ev=recv term=1 state=leader rpc=1-1 type=TimeoutNow from=2 mterm=1 granted=true",
		"term=1 ev=heal",
	} {
		fields, err := ParseFields(line, nil)
		if err != nil {
			t.Fatal(err)
		}
		if Check(fields) == nil {
			t.Errorf("Check accepts %q", line)
		}
	}
	log := "00:00:00.000000 [1] fine | ev=heal\n=== RUN   TestX\n00:00:00.000001 [1] bad | ev=heal colour=blue\n"
	if err := CheckText([]byte(log)); err == nil || !strings.HasPrefix(err.Error(), "line 3: ") {
		t.Errorf("CheckText: %v", err)
	}
}
