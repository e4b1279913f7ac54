package parse

import (
	"testing"

	"github.com/raftviz/raftviz/parse/eventline"
)

// TestLives: what each start ends, from the node's lines before it.
func TestLives(t *testing.T) {
	var l Lives
	steps := []struct {
		node, kind string
		want       Start
		last       int // for AfterSilence
	}{
		{"1", "", NotAStart, 0},                                    // start-up lines before its first start
		{"1", eventline.KindStart, FirstStart, 0},                  // they are not a life that ended
		{"1", eventline.KindStart, Repeated, 0},                    // nothing between two starts
		{"2", eventline.KindStart, FirstStart, 0},                  //
		{"1", eventline.KindSend, NotAStart, 0},                    // 1 writes (event 4)
		{"2", eventline.KindCrash, NotAStart, 0},                   // 2 says it crashed
		{"2", eventline.KindStart, AfterDown, 0},                   //
		{"1", eventline.KindStart, AfterSilence, 4},                // killed without a word after event 4
		{"1", eventline.KindRestart, NotAStart, 0},                 // a harness restart first
		{"1", eventline.KindStart, AfterRestart, 0},                //
		{eventline.ClusterNode, eventline.KindStart, NotAStart, 0}, // the cluster has no life
	}
	for i, s := range steps {
		e := Event{Node: s.node, Kind: s.kind}
		got, last := l.Observe(&e, i)
		if got != s.want || (got == AfterSilence && last != s.last) {
			t.Errorf("step %d (%s %s): %v, last %d; want %v, last %d", i, s.node, s.kind, got, last, s.want, s.last)
		}
	}
	if !l.Started("1") || l.Started("3") {
		t.Errorf("Started: 1 %v, 3 %v", l.Started("1"), l.Started("3"))
	}
}
