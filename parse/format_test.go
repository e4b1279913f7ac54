package parse

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
)

// checked returns an event's fields with ev first, as eventline.Check takes them.
func checked(e Event) error {
	return eventline.Check(append([]eventline.Field{{Key: eventline.KindKey, Value: e.Kind}}, e.Fields.Slice()...))
}

// TestFormatJSONExamples reads every JSON example of docs/FORMAT.md with raftviz's JSON reader:
// each is an event that checks against eventline.Schema. (eventline's tests pin the text ones.)
func TestFormatJSONExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	var examples []string
	inJSON := false
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inJSON = line == "```json"
		case inJSON && strings.HasPrefix(line, "{"):
			examples = append(examples, line)
		}
	}
	if len(examples) == 0 {
		t.Fatal("FORMAT.md has no JSON example")
	}
	for _, line := range examples {
		tests, _, err := Read(strings.NewReader(line+"\n"), Options{})
		if err != nil || len(tests) != 1 || len(tests[0].Events) != 1 {
			t.Errorf("JSON example is not one event (%v): %s", err, line)
			continue
		}
		if err := checked(tests[0].Events[0]); err != nil {
			t.Errorf("JSON example: %v: %s", err, line)
		}
	}
}

// TestDurationsSpelledAlikeInBothForms: a duration reads back as the same field value ("215ms")
// from the text form and from the JSON form (slog's JSON handler alone writes nanoseconds).
func TestDurationsSpelledAlikeInBothForms(t *testing.T) {
	var events []Event
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return eventline.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return eventline.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		r := slog.NewRecord(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), slog.LevelDebug, "election timeout", 0)
		r.AddAttrs(slog.String(eventline.NodeKey, "1"), slog.String(eventline.KindKey, eventline.KindTimer), slog.Uint64("term", 1),
			slog.String("state", "follower"), slog.String("timer", "election"), slog.String("action", "fire"),
			slog.Duration("timeout", 215*time.Millisecond))
		if err := h(&buf).Handle(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		tests, _, err := Read(&buf, Options{})
		if err != nil || len(tests) != 1 || len(tests[0].Events) != 1 {
			t.Fatalf("read back: %v", err)
		}
		events = append(events, tests[0].Events[0])
	}
	for i, e := range events {
		if v, _ := e.Field("timeout"); v != "215ms" {
			t.Errorf("form %d: timeout=%q, want 215ms", i, v)
		}
		if err := checked(e); err != nil {
			t.Errorf("form %d: %v", i, err)
		}
	}
}
