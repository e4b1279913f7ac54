package parse

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/raftviz/raftviz/parse/eventline"
)

// TestFieldMatchIsKeyEqualsValue: a plain-text query is looked for in a field's key=value
// without building that string; the answer is the same as looking in the string, in any case
// and exactly, on random fields and queries over a small alphabet (so that they meet often).
func TestFieldMatchIsKeyEqualsValue(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	word := func(alphabet string, n int) string {
		b := make([]byte, rnd.IntN(n+1))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		return string(b)
	}
	for i := 0; i < 200_000; i++ {
		key, value := word("abAB", 4), word("ab=B", 4)
		q, err := NewQuery(word("aAb=", 5))
		if err != nil || q.Empty() {
			continue
		}
		want := strings.Contains(key+"="+value, q.sub)
		if q.fold {
			want = IndexFold(key+"="+value, q.sub) >= 0
		}
		if got := q.inField(key, value); got != want {
			t.Fatalf("%q (any case %v) in %s=%s: %v, want %v", q.sub, q.fold, key, value, got, want)
		}
	}
}

// TestQuery: smart case, regexps after re:, and a bad regexp's error.
func TestQuery(t *testing.T) {
	e := &Event{Node: "2", Msg: "Becomes Leader", Kind: "state", Fields: eventline.MakeFields(eventline.Field{Key: "term", Value: "3"})}
	for s, want := range map[string]bool{"leader": true, "Leader": true, "LEADER": false, "term=3": true,
		"m=3": true, "term=4": false, "STATE": false, "re:^Becomes": true, `re:term=\d`: true, "re:^leader": false} {
		q, err := NewQuery(s)
		if err != nil || q.Matches(e) != want {
			t.Errorf("%q matches %v (%v), want %v", s, q.Matches(e), err, want)
		}
	}
	if _, err := NewQuery("re:(x"); err == nil || !strings.HasPrefix(err.Error(), "bad regexp: missing closing )") {
		t.Errorf("a bad regexp: %v", err)
	}
}
