package eventline

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestAppendTextAndParseRoundTrip(t *testing.T) {
	values := []string{"", "plain", "two words", `quo"te`, "a=b", "pipe|x", "back\\slash", "tab\tx",
		"\xff\xfe invalid", "ünïcode", "line\nbreak", " | ev=fake"}
	ts := time.Date(2026, 11, 23, 17, 6, 39, 885142000, time.UTC)
	for _, v := range values {
		fields := []Field{{"term", "3"}, {"cmd", v}, {"state", "leader"}}
		line := string(AppendText(nil, ts, "n1", "msg with | pipe", "apply", fields))
		if !strings.HasPrefix(line, "17:06:39.885142 [n1] msg with / pipe | ev=apply term=3 cmd=") {
			t.Fatalf("unexpected line %q", line)
		}
		rest := strings.TrimSuffix(line[len("17:06:39.885142 [n1] "):], "\n")
		msg, block, ok := SplitText(rest)
		if !ok || msg != "msg with / pipe" {
			t.Fatalf("split %q: msg=%q ok=%v", rest, msg, ok)
		}
		got, err := ParseFields(block, nil)
		if err != nil {
			t.Fatalf("parse %q: %v", block, err)
		}
		want := append([]Field{{"ev", "apply"}}, fields...)
		if len(got) != len(want) {
			t.Fatalf("value %q: got %d fields %q, want %d", v, len(got), got, len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("value %q: field %d = %q, want %q", v, i, got[i], want[i])
			}
		}
	}
}

func TestParseFieldsRejectsBrokenInput(t *testing.T) {
	for _, s := range []string{"ev", "=x", `ev="unterminated`, `ev="bad \q escape"`} {
		if _, err := ParseFields(s, nil); err == nil {
			t.Errorf("ParseFields(%q) accepted broken input", s)
		}
	}
}

func TestSplitTextWithoutFields(t *testing.T) {
	if _, _, ok := SplitText("Becomes Follower with term=1; log=[]"); ok {
		t.Fatal("a classic message was taken for a field block")
	}
	msg, block, ok := SplitText("| ev=heal")
	if !ok || msg != "" || block != "ev=heal" {
		t.Fatalf("empty message: %q %q %v", msg, block, ok)
	}
}

func TestTextHandlerWritesFormat(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewTextHandler(&buf, nil)).With("node", "2")
	ts := time.Date(2026, 1, 2, 0, 0, 0, 151000000, time.UTC)
	r := slog.NewRecord(ts, slog.LevelDebug, "votes for 1", 0)
	r.AddAttrs(slog.String("ev", "vote"), slog.Int("term", 1), slog.String("state", "follower"),
		slog.String("candidate", "1"), slog.Bool("granted", true), slog.Duration("timeout", 150*time.Millisecond))
	if err := log.Handler().Handle(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	want := "00:00:00.151000 [2] votes for 1 | ev=vote term=1 state=follower candidate=1 granted=true timeout=150ms\n"
	if buf.String() != want {
		t.Fatalf("got  %q\nwant %q", buf.String(), want)
	}
}
