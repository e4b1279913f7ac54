package timeline

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
)

// TestHeaderSaysHowFarLoadingIs: while a file of known size loads, the header gives the share
// read; the word goes once it is done.
func TestHeaderSaysHowFarLoadingIs(t *testing.T) {
	m := New(nil, Options{NoColor: true, Loading: true})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	m.Update(AppendMsg{Updates: []Update{{Key: 1, Name: "TestA", Events: storeOf([]parse.Event{{Node: "1", Msg: "hi"}})}}, Read: 45, Size: 100})
	if s := plain(m); !strings.Contains(s, "loading 45%") {
		t.Fatalf("no share read in:\n%s", s)
	}
	m.Update(AppendMsg{Done: true, Read: 100, Size: 100})
	if s := plain(m); strings.Contains(s, "loading") {
		t.Fatalf("still loading:\n%s", s)
	}
}

// TestOpensAtThePlaceAsked: with Options.At (raftviz --tui --at, the place raftviz explain
// names) the timeline lands there once the input is read, and a failed test does not open on
// its output first.
func TestOpensAtThePlaceAsked(t *testing.T) {
	var events []parse.Event
	for s := int64(0); s < 20; s++ {
		events = append(events, parse.Event{Node: "1", Msg: "at " + strings.Repeat("x", int(s)), Time: s * 1e9, Flags: parse.FlagTime})
	}
	m := New(nil, Options{NoColor: true, Loading: true, At: "00:00:07"})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 20})
	m.Update(AppendMsg{Updates: []Update{{Key: 1, Name: "TestA", Status: parse.StatusFail, Events: storeOf(events),
		Other: []parse.OtherLine{{Text: "a_test.go:9: boom", Kind: parse.OtherTestLog}}}}})
	m.Update(AppendMsg{Done: true})
	settle(m)
	if e := m.Cursor(); e == nil || e.Time != 7e9 || m.mode != modeTable {
		t.Fatalf("opened at %+v, mode %d, status %q", e, m.mode, m.status)
	}
}
