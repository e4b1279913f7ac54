package eventline

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// formatDoc is docs/FORMAT.md read as tables: the kind tables (ev -> fields column) and the
// message table (type -> fields column), plus the example lines of its code blocks.
type formatDoc struct {
	kinds    map[string]string
	messages map[string]string
	text     []string // text event lines of ``` blocks (parse's tests read the JSON ones)
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
			if block != "json" && strings.Contains(line, Separator) && !strings.HasPrefix(line, "HH:") {
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
	if len(d.kinds) < 20 || len(d.messages) < 10 || len(d.text) == 0 {
		t.Fatalf("FORMAT.md read wrongly: %d kinds, %d message types, %d text examples",
			len(d.kinds), len(d.messages), len(d.text))
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
	// compare checks one table of FORMAT.md (kinds, or message types) against its spec.
	compare := func(what string, specs map[string]Spec, rows map[string]string) {
		for name, spec := range specs {
			cell, ok := rows[name]
			if !ok {
				t.Errorf("%s %q is written but has no row in FORMAT.md", what, name)
				continue
			}
			check(what+"="+name, cell, spec)
		}
		for name := range rows {
			if _, ok := specs[name]; !ok {
				t.Errorf("FORMAT.md documents %s %q, which the code never writes", what, name)
			}
		}
	}
	compare("ev", Schema, d.kinds)
	compare("type", MessageFields, d.messages)
}

// TestFormatExamples parses every text example of FORMAT.md: each checks against Schema and
// re-encodes to itself. (The JSON examples go through package parse's JSON reader in its
// TestFormatJSONExamples.)
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
