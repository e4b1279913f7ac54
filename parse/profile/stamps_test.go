package profile

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestStampsReadAsTimeParse: a stamp read with the last one remembered gives what reading it
// alone gives, for layouts with and without fractions, dates and zones, in runs of lines that
// share their second and across seconds.
func TestStampsReadAsTimeParse(t *testing.T) {
	layouts := []string{"2006/01/02 15:04:05", "2006/01/02 15:04:05.000000", "15:04:05.000", "Jan _2 15:04:05.000000",
		"15:04:05,000", "2006-01-02 15:04:05.999", "2006-01-02 15:04:05.999 -0700", "15:04:05", "15:04:05.9"}
	rng := rand.New(rand.NewPCG(1, 9))
	for _, layout := range layouts {
		p := &Profile{timeLayout: layout, fracAtEnd: layoutEndsWithFraction(layout)}
		var st Stamps
		at := time.Date(2026, 12, 6, 21, 42, 2, 0, time.Local)
		for i := 0; i < 5000; i++ {
			at = at.Add(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
			ts := []byte(at.Format(layout))
			var cached, alone Record
			ok1 := p.parseTime(ts, &cached, &st)
			ok2 := p.parseTime(ts, &alone, nil)
			if ok1 != ok2 || cached.Time != alone.Time || cached.HasTime != alone.HasTime || cached.HasDate != alone.HasDate {
				t.Fatalf("%s: %q read %v %+v with the last stamp, %v %+v alone", layout, ts, ok1, cached, ok2, alone)
			}
			if !ok1 {
				t.Fatalf("%s: %q not read", layout, ts)
			}
		}
	}
	for _, c := range []struct {
		layout string
		want   bool
	}{{"15:04:05.000", true}, {"15:04:05,999999", true}, {"15:04:05", false}, {"2006.01.02", false}, {".000", true}, {"Z07:00", false}} {
		if got := layoutEndsWithFraction(c.layout); got != c.want {
			t.Errorf("layoutEndsWithFraction(%q) = %v", c.layout, got)
		}
	}
}

// TestIndexFoldIsIndexOfLowerCase: indexFold finds the first place of a literal in any case,
// as strings.Index of the lower-cased text does, on random ASCII texts.
func TestIndexFoldIsIndexOfLowerCase(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	alphabet := "aAbBsS -1"
	for i := 0; i < 50000; i++ {
		var text, lit []byte
		for j := rng.IntN(30); j > 0; j-- {
			text = append(text, alphabet[rng.IntN(len(alphabet))])
		}
		for j := rng.IntN(4); j >= 0; j-- {
			lit = append(lit, strings.ToLower(alphabet[rng.IntN(len(alphabet)):])[0])
		}
		want := strings.Index(strings.ToLower(string(text)), string(lit))
		if got := indexFold(string(text), string(lit)); got != want {
			t.Fatalf("indexFold(%q, %q) = %d, want %d", text, lit, got, want)
		}
	}
}
