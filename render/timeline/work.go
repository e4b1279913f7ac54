package timeline

import (
	"context"

	tea "charm.land/bubbletea/v2"
)

// Work proportional to a test (counting a search's matches, reading other tests again) never
// runs inside Update: it runs as a tea.Cmd and hands back a function that applies its result to
// the model. One piece of work runs at a time; a new request cancels the one before, and the
// result of a cancelled one is dropped.

// workFunc does the work, off the model's goroutine: it must not read or write the model, only
// what it captured. It returns what to do with the result on the model's goroutine (nil:
// nothing).
type workFunc func(ctx context.Context) func(*Model) tea.Cmd

// work is the work under way.
type work struct {
	gen    int
	ctx    context.Context
	cancel context.CancelFunc
	run    workFunc
}

// workMsg brings a piece of work's result back to Update.
type workMsg struct {
	gen   int
	apply func(*Model) tea.Cmd
}

// startWork cancels the work under way and starts run.
func (m *Model) startWork(run workFunc) tea.Cmd {
	m.cancelWork()
	m.workGen++
	ctx, cancel := context.WithCancel(context.Background())
	w := &work{gen: m.workGen, ctx: ctx, cancel: cancel, run: run}
	m.work = w
	return func() tea.Msg { return workMsg{gen: w.gen, apply: w.run(w.ctx)} }
}

// cancelWork stops the work under way, if any.
func (m *Model) cancelWork() {
	if m.work != nil {
		m.work.cancel()
		m.work = nil
	}
}

// finishWork applies a piece of work's result, unless newer work replaced it.
func (m *Model) finishWork(msg workMsg) tea.Cmd {
	if m.work == nil || msg.gen != m.work.gen {
		return nil
	}
	m.work.cancel()
	m.work = nil
	if msg.apply == nil {
		return nil
	}
	cmd := msg.apply(m)
	m.clamp() // a result may have set the status line, which takes a row
	return cmd
}
