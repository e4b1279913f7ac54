package evstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fortytw2/leaktest"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
)

// randomEvents makes n events like a run's: a few nodes and kinds, messages that repeat and
// messages that do not, fields of every length (past a chunk, too), the cluster node, empty
// strings.
func randomEvents(r *rand.Rand, n int) []parse.Event {
	kinds := []string{"", "send", "recv", "state", "commit", "timer"}
	out := make([]parse.Event, n)
	for i := range out {
		e := &out[i]
		e.Time = r.Int64N(1 << 40)
		e.Flags = uint8(r.IntN(4))
		e.Line = int32(i + 1)
		e.File = int16(r.IntN(3))
		e.Syntax = parse.Syntax(r.IntN(4))
		switch r.IntN(10) {
		case 0:
			e.Node = eventline.ClusterNode
		case 1:
			e.Node = fmt.Sprintf("n%d", r.IntN(300)) // many nodes
		case 2:
			e.Node = fmt.Sprintf("c%d", r.IntN(3)) // clients: drawn after the servers
		default:
			e.Node = fmt.Sprint(r.IntN(5))
		}
		e.Kind = kinds[r.IntN(len(kinds))]
		if e.Node[0] == 'c' && r.IntN(1000) != 0 {
			e.Kind = []string{eventline.KindInvoke, eventline.KindReturn}[r.IntN(2)] // now and then a client is also a server
		}
		switch r.IntN(4) {
		case 0:
			e.Msg = ""
		case 1:
			e.Msg = fmt.Sprintf("unique message %d %s", i, strings.Repeat("x", r.IntN(300)))
		default:
			e.Msg = fmt.Sprintf("sends AppendEntries to %d", r.IntN(5))
		}
		var fs []eventline.Field
		for k := r.IntN(6); k > 0; k-- {
			fs = append(fs, eventline.Field{Key: fmt.Sprint("k", r.IntN(9)), Value: strings.Repeat("v", r.IntN(200))})
		}
		if r.IntN(5000) == 0 {
			fs = append(fs, eventline.Field{Key: "big", Value: strings.Repeat("b", 3*maxChunk)})
		}
		e.Fields = eventline.MakeFields(fs...)
	}
	return out
}

func TestEventsReadBackAsAdded(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		events := randomEvents(r, r.IntN(20000))
		var b Builder
		var views []*Events
		for rest := events; len(rest) > 0; {
			k := min(len(rest), 1+r.IntN(500))
			b.Add(rest[:k]...)
			rest = rest[k:]
			views = append(views, b.Events())
		}
		v := b.Events()
		if v.Len() != len(events) {
			t.Fatalf("round %d: Len %d, want %d", round, v.Len(), len(events))
		}
		for i := range events {
			if got := v.At(i); got != events[i] {
				t.Fatalf("round %d: event %d reads back as %+v, want %+v", round, i, got, events[i])
			}
			if tm, timed := v.Time(i); tm != events[i].Time || timed != events[i].HasTime() {
				t.Fatalf("round %d: Time(%d) = %d, %v", round, i, tm, timed)
			}
			if v.Node(i) != events[i].Node || v.Kind(i) != events[i].Kind {
				t.Fatalf("round %d: Node/Kind(%d) = %q/%q", round, i, v.Node(i), v.Kind(i))
			}
		}
		// A view holds what was added when it was taken, unchanged by what came after.
		for _, w := range views {
			for i := 0; i < w.Len(); i += 1 + r.IntN(50) {
				if got := w.At(i); got != events[i] {
					t.Fatalf("round %d: an earlier view reads event %d as %+v", round, i, got)
				}
			}
		}
		var tl parse.Tally
		tl.Add(events)
		if got, want := v.Nodes(), tl.Nodes(); !slices.Equal(got, want) {
			t.Fatalf("round %d: Nodes %v, want %v", round, got, want)
		}
		if got := v.Slice(0, v.Len()); !slices.Equal(got, events) {
			t.Fatalf("round %d: Slice differs from the events added", round)
		}
	}
}

func TestEmptyEvents(t *testing.T) {
	var v *Events
	if v.Len() != 0 || v.Nodes() != nil || v.Bytes() != 0 {
		t.Fatal("a nil view is not empty")
	}
	var b Builder
	if b.Events().Len() != 0 {
		t.Fatal("a new Builder has events")
	}
}

// TestViewReadWhileAdding reads views on one goroutine while another adds (go test -race
// checks that no byte a view holds is written).
func TestViewReadWhileAdding(t *testing.T) {
	defer leaktest.Check(t)()
	events := randomEvents(rand.New(rand.NewPCG(3, 4)), 30000)
	var b Builder
	views := make(chan *Events, 8)
	var wg sync.WaitGroup
	wg.Add(1)
	bad := -1
	go func() {
		defer wg.Done()
		for v := range views {
			for i := 0; i < v.Len(); i++ {
				if v.At(i) != events[i] && bad < 0 {
					bad = i
				}
			}
		}
	}()
	for rest := events; len(rest) > 0; {
		k := min(len(rest), 700)
		b.Add(rest[:k]...)
		rest = rest[k:]
		views <- b.Events()
	}
	close(views)
	wg.Wait()
	if bad >= 0 {
		t.Fatalf("event %d read wrong while events were added", bad)
	}
}

// TestRepeatedMessagesAreKeptOnce checks the store holds a message repeated by many events
// once: the events of a run cost their records and fields, not their text again and again.
func TestRepeatedMessagesAreKeptOnce(t *testing.T) {
	var b Builder
	const n = 100000
	for i := 0; i < n; i++ {
		b.Add(parse.Event{Node: fmt.Sprint(i % 5), Kind: "send", Msg: fmt.Sprintf("sends AppendEntries to %d with a long message", i%7),
			Fields: eventline.MakeFields(eventline.Field{Key: "term", Value: "3"})})
	}
	v := b.Events()
	if len(v.heads) != 35+1 {
		t.Fatalf("%d heads for 35 distinct (node, kind, message)", len(v.heads)-1)
	}
	if per := v.Bytes() / n; per > 48 {
		t.Fatalf("%d bytes an event, want at most 48", per)
	}
}

// runEvents are n events like a simulated run's: repeated messages, ten short fields.
func runEvents(n int) []parse.Event {
	out := make([]parse.Event, n)
	for i := range out {
		out[i] = parse.Event{Time: int64(i) * 1000, Flags: parse.FlagTime, Line: int32(i + 1), Node: fmt.Sprint(i % 7), Kind: "send",
			Msg: fmt.Sprintf("sends AppendEntries to %d", (i+1)%7),
			Fields: eventline.MakeFields(eventline.Field{Key: "term", Value: fmt.Sprint(i / 5000)}, eventline.Field{Key: "state", Value: "leader"},
				eventline.Field{Key: "rpc", Value: fmt.Sprintf("%d-%d", i%7, i)}, eventline.Field{Key: "type", Value: "AppendEntries"},
				eventline.Field{Key: "to", Value: fmt.Sprint((i + 1) % 7)}, eventline.Field{Key: "prev_index", Value: fmt.Sprint(i / 3)},
				eventline.Field{Key: "entries", Value: "0"}, eventline.Field{Key: "commit", Value: fmt.Sprint(i / 4)})}
	}
	return out
}

func BenchmarkAdd(b *testing.B) {
	events := runEvents(100000)
	b.ReportAllocs()
	for b.Loop() {
		var s Builder
		s.Add(events...)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
	var s Builder
	s.Add(events...)
	b.ReportMetric(float64(s.Events().Bytes())/float64(len(events)), "bytes/event")
}

func BenchmarkAt(b *testing.B) {
	events := runEvents(100000)
	var s Builder
	s.Add(events...)
	v := s.Events()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := 0; i < v.Len(); i++ {
			e := v.At(i)
			n += len(e.Msg)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}
