package timeline

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
)

// TestSentEventsGrowByTheInputRead: a test that runs through the whole input, its lines a
// little longer at the start (as elections are), arrives in batches as the input is read. Its
// events are copied a few times, not the twenty of append's growth by a quarter, and end with
// little room to spare; every event is kept, in order.
func TestSentEventsGrowByTheInputRead(t *testing.T) {
	const total = 1_000_000
	var s sent
	copies, n := 0, 0
	for n < total {
		batch := make([]parse.Event, min(7000, total-n))
		for i := range batch {
			batch[i].Line = int32(n + i)
		}
		n += len(batch)
		// The first tenth of the events takes a sixth of the input.
		read := float64(n) / total * 0.9
		if n < total/10 {
			read = float64(n) / (total / 10) / 6
		}
		before := cap(s.events)
		s.add(batch, read)
		if cap(s.events) != before {
			copies++
		}
	}
	if copies > 8 {
		t.Errorf("%d copies", copies)
	}
	if c := cap(s.events); c > total*13/10 {
		t.Errorf("room for %d events at the end, for %d", c, total)
	}
	for i := range s.events {
		if s.events[i].Line != int32(i) {
			t.Fatalf("event %d is event %d", i, s.events[i].Line)
		}
	}
}

// TestHeaderSaysHowFarLoadingIs: while a file of known size loads, the header gives the share
// read; the word goes once it is done.
func TestHeaderSaysHowFarLoadingIs(t *testing.T) {
	m := New(nil, Options{NoColor: true, Loading: true})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	m.Update(AppendMsg{Updates: []Update{{Key: 1, Name: "TestA", Events: []parse.Event{{Node: "1", Msg: "hi"}}}}, Read: 45, Size: 100})
	if s := plain(m); !strings.Contains(s, "loading 45%") {
		t.Fatalf("no share read in:\n%s", s)
	}
	m.Update(AppendMsg{Done: true, Read: 100, Size: 100})
	if s := plain(m); strings.Contains(s, "loading") {
		t.Fatalf("still loading:\n%s", s)
	}
}
