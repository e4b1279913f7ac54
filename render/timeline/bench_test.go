package timeline

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	tea "charm.land/bubbletea/v2"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft/sim"
)

// bigTest repeats a simulated run until it holds n events, shifting times so that they keep
// increasing: a test the size of the million-line log.
func bigTest(tb testing.TB, n int) *parse.Test {
	base := simTests(tb)[0].Events
	span := base[len(base)-1].Time - base[0].Time + 1
	t := &parse.Test{Name: "TestBig", Status: parse.StatusPass, Events: make([]parse.Event, 0, n)}
	for rep := int64(0); len(t.Events) < n; rep++ {
		for _, e := range base {
			if len(t.Events) == n {
				break
			}
			e.Time += rep * span
			t.Events = append(t.Events, e)
		}
	}
	return t
}

// BenchmarkNew measures opening the timeline on a million events: indexing and building rows
// (the first screen is one View more, measured below).
func BenchmarkNew(b *testing.B) {
	t := bigTest(b, 1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		m := New([]*parse.Test{t}, Options{})
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
		_ = m.screen()
	}
}

// BenchmarkNewFreeText is BenchmarkNew on free-text lines (no ev fields), as classic logs
// read: the index also reads the commit index of every line that mentions one.
func BenchmarkNewFreeText(b *testing.B) {
	t := bigTest(b, 1_000_000)
	for i := range t.Events {
		t.Events[i].Kind, t.Events[i].Fields = "", ""
	}
	b.ReportAllocs()
	for b.Loop() {
		m := New([]*parse.Test{t}, Options{})
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
		_ = m.screen()
	}
}

// BenchmarkKeyUpdateView measures one key press (Update) and the frame it causes (View) in the
// middle of a million events, for the keys that move the most.
func BenchmarkKeyUpdateView(b *testing.B) {
	t := bigTest(b, 1_000_000)
	for _, k := range []string{"j", "pgdown", "G", "]", "x", "c", "z"} {
		b.Run(k, func(b *testing.B) {
			m := New([]*parse.Test{t}, Options{})
			m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
			mid := m.rows.Len() / 2
			b.ReportAllocs()
			for b.Loop() {
				m.cursor, m.top = mid, mid
				m.Update(keyMsg(k))
				_ = m.screen()
				if k == "z" {
					m.Update(keyMsg("z")) // unfold again for the next round
				}
			}
		})
	}
}

// BenchmarkSearchNoMatch measures a search that matches nothing in a million events: the key
// (Update: it only starts the work), one step of the count (the longest the model's goroutine
// waits is applying it), and the whole count as the background runs it.
func BenchmarkSearchNoMatch(b *testing.B) {
	t := bigTest(b, 1_000_000)
	m := New([]*parse.Test{t}, Options{})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	settle(m) // the analysis of the test
	b.Run("key", func(b *testing.B) {
		for b.Loop() {
			m.srch = searchState{}
			_ = m.submitSearch("no such text")
			m.cancelWork(workSearch)
		}
	})
	b.Run("step", func(b *testing.B) {
		_ = m.submitSearch("no such text")
		w := m.work[workSearch]
		for b.Loop() {
			_ = w.run(w.ctx)
		}
		m.cancelWork(workSearch)
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			_ = m.submitSearch("no such text")
			settle(m)
		}
		if !strings.Contains(m.status, "no next match") {
			b.Fatalf("status %q", m.status)
		}
	})
}

// run runs a command and returns its messages (those of a batch, each).
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

// BenchmarkFeedBigTest loads one big test of structured events (a seeded 7-node simulation
// with faults) as raftviz --tui does, and only parses it as raftviz --list does, the two
// alternating on one file: "tui" reads it with Feed on a goroutine of its own while the model
// takes the messages on another, runs the commands they return in goroutines and draws a
// frame every 16 ms, as a bubbletea program does, until the rows are all laid out. It
// reports the longest Update (what a key waits for while a log loads) and the live heap once
// loaded; the two times give the load's ratio to --list.
func BenchmarkFeedBigTest(b *testing.B) {
	name := filepath.Join(b.TempDir(), "sim.log")
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	s, err := sim.New(sim.Config{Nodes: 7, Seed: 7, DropRate: 0.05, ReorderRate: 0.1, Handler: eventline.NewTextHandler(w, nil)})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Chaos(400000, sim.Faults{Partition: true, Crash: true}); err != nil {
		b.Fatal(err)
	}
	w.Flush()
	f.Close()
	st, err := os.Stat(name)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("list", func(b *testing.B) {
		for b.Loop() {
			src, err := parse.Open([]string{name}, nil, parse.Options{})
			if err != nil {
				b.Fatal(err)
			}
			// As --list does: the events are let go as they come.
			err = src.Scan(context.Background(), parse.ScanOptions{
				Emit: func(t *parse.Test) error { t.Events = nil; return nil },
				Batch: func(running []*parse.Test) error {
					for _, t := range running {
						t.Events = t.Events[:0]
					}
					return nil
				},
			})
			src.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tui", func(b *testing.B) {
		var longest time.Duration
		var heap uint64
		events, store, rows := 0, 0, 0
		for b.Loop() {
			src, err := parse.Open([]string{name}, nil, parse.Options{})
			if err != nil {
				b.Fatal(err)
			}
			m := New(nil, Options{Loading: true})
			m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
			msgs := make(chan tea.Msg, 64)
			fed := make(chan error, 1)
			go func() { fed <- Feed(context.Background(), src, nil, func(msg tea.Msg) { msgs <- msg }) }()
			frame := time.NewTicker(16 * time.Millisecond)
			var cmds sync.WaitGroup
			for loaded := false; !loaded || m.behind(); {
				select {
				case msg := <-msgs:
					if a, ok := msg.(AppendMsg); ok && a.Done {
						loaded = true
					}
					start := time.Now()
					_, cmd := m.Update(msg)
					longest = max(longest, time.Since(start))
					if cmd != nil {
						cmds.Go(func() {
							for _, msg := range run(cmd) {
								msgs <- msg
							}
						})
					}
				case <-frame.C:
					_ = m.screen()
				}
			}
			frame.Stop()
			go func() { // let the last commands' messages go
				for range msgs {
				}
			}()
			cmds.Wait()
			close(msgs)
			src.Close()
			if err := <-fed; err != nil || m.Events().Len() < 100_000 {
				b.Fatalf("loaded %d events: %v", m.Events().Len(), err)
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap, events = ms.HeapAlloc, m.Events().Len()
			store, rows = m.Events().Bytes(), m.rows.Bytes(int(unsafe.Sizeof(row{})))
			runtime.KeepAlive(m)
		}
		b.ReportMetric(float64(events), "events")
		b.ReportMetric(float64(st.Size()>>20), "file-MB")
		b.ReportMetric(float64(longest.Microseconds())/1000, "longest-update-ms")
		b.ReportMetric(float64(heap>>20), "heap-MB")
		b.ReportMetric(float64(store>>20), "store-MB")
		b.ReportMetric(float64(rows>>20), "rows-MB")
	})
}

// BenchmarkJumpNoMatch measures a jump (x, next fault) that has nothing to find in a test of
// 1,000,000 free-text events without faults: the key (Update: the rows near the cursor, then
// the background work started) and the whole look (until it says there is none).
func BenchmarkJumpNoMatch(b *testing.B) {
	t := bigTest(b, 1_000_000)
	for i := range t.Events {
		t.Events[i].Kind, t.Events[i].Fields, t.Events[i].Msg = "", "", "tick"
	}
	m := New([]*parse.Test{t}, Options{})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	b.Run("key", func(b *testing.B) {
		for b.Loop() {
			m.Update(keyMsg("x"))
			m.cancelWork(workJump)
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			m.Update(keyMsg("x"))
			settle(m)
		}
		if m.status != "no next fault" {
			b.Fatalf("status %q", m.status)
		}
	})
}
