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
