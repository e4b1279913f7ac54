package analyze

import (
	"context"

	"github.com/raftviz/raftviz/parse"
)

// StreamOptions say which tests of a source to analyse and where the reports go.
type StreamOptions struct {
	// Select returns the options for a test, or false to leave it out. It is asked once per
	// test, when its first events arrive (or when it completes, with Whole).
	Select func(t *parse.Test) (Options, bool)
	// Whole analyses a test only once it is complete (a selection by package must wait: go
	// test -v names a test's package after it ends).
	Whole bool
	// Report receives each analysed test's report, in the order tests complete.
	Report func(Report) error
}

// Stream analyses the tests of a source as they stream, part by part: a test of millions of
// events is never whole in memory, and the events are handed back (Test.Consumed) once read.
func Stream(ctx context.Context, src *parse.Source, o StreamOptions) error {
	analyzers := map[*parse.Test]*Analyzer{}
	skipped := map[*parse.Test]bool{}
	feed := func(t *parse.Test) *Analyzer {
		a := analyzers[t]
		if a == nil && !skipped[t] {
			if len(t.Events) == 0 {
				return nil // asked again when it has some
			}
			opts, ok := o.Select(t)
			if !ok {
				skipped[t] = true
				return nil
			}
			a = NewAnalyzer(opts)
			analyzers[t] = a
		}
		if a != nil {
			a.Add(t.Events)
			t.Consumed()
		}
		return a
	}
	return src.Scan(ctx, parse.ScanOptions{
		Emit: func(t *parse.Test) error {
			a := feed(t)
			delete(analyzers, t)
			delete(skipped, t)
			if a == nil {
				return nil
			}
			return o.Report(a.Report(t))
		},
		Batch: func(running []*parse.Test) error {
			if o.Whole {
				return nil
			}
			for _, t := range running {
				feed(t)
			}
			return nil
		},
	})
}
