package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/mattn/go-isatty"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/render/timeline"
)

// openTimeline shows a captured log in raftviz's timeline: following it as it grows (a live
// cluster) or loading it (a finished test run). It needs a terminal. Lines sent on notices (nil:
// none) are shown at the bottom of the timeline as they come.
func openTimeline(ctx context.Context, path string, follow bool, stdout io.Writer, notices <-chan string) error {
	f, ok := stdout.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return errors.New("--tui needs a terminal on stdout")
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	opts := timeline.Options{NoColor: noColor, Follow: follow, Loading: !follow}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Keys come from the terminal (bubbletea opens the TTY when stdin is not one).
	p := tea.NewProgram(timeline.New(nil, opts), tea.WithOutput(stdout), tea.WithContext(ctx))
	if notices != nil {
		go func() {
			for {
				select {
				case n, ok := <-notices:
					if !ok {
						return
					}
					p.Send(timeline.NoticeMsg{Text: n})
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	errc := make(chan error, 1)
	go func() {
		popts := parse.Options{ImplicitName: path}
		var src *parse.Source
		var err error
		if follow {
			src, err = parse.OpenFollow(path, nil, 0, popts)
		} else {
			src, err = parse.Open([]string{path}, nil, popts)
		}
		if err != nil {
			errc <- err
			return
		}
		defer src.Close()
		errc <- timeline.Feed(ctx, src, nil, p.Send)
	}()
	_, err := p.Run()
	cancel()
	if lerr := <-errc; lerr != nil && ctx.Err() == nil {
		return fmt.Errorf("reading %s: %w", path, lerr)
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return err
	}
	return nil
}
