package kv

import (
	"errors"
	"testing"
)

func TestParseEncodeRoundTrip(t *testing.T) {
	for _, text := range []string{"set x 1", "set k a value with spaces", "get x", "del x", "@c1:7 set x 1", "@c2:1 get y"} {
		c, err := Parse(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got := string(c.Encode()); got != text {
			t.Fatalf("%q encodes as %q", text, got)
		}
	}
	for _, bad := range []string{"", "put x 1", "set", "get", "get x y", "@c1 set x 1", "@c1:0 set x 1", "@:3 get x"} {
		if _, err := Parse(bad); !errors.Is(err, ErrBadCommand) {
			t.Errorf("%q: err = %v, want ErrBadCommand", bad, err)
		}
	}
}

func TestApply(t *testing.T) {
	s := New()
	steps := []struct {
		cmd   string
		value string
		found bool
	}{
		{"get x", "", false},
		{"set x 1", "", false},
		{"get x", "1", true},
		{"set x 2", "1", true},
		{"del x", "2", true},
		{"get x", "", false},
	}
	for _, st := range steps {
		res, err := s.Apply([]byte(st.cmd))
		if err != nil || res.Value != st.value || res.Found != st.found {
			t.Fatalf("%q: %+v %v, want %q %v", st.cmd, res, err, st.value, st.found)
		}
	}
	if _, err := s.Apply([]byte("frob")); err == nil {
		t.Fatal("a bad command applied")
	}
	if res, err := s.Apply(nil); err != nil || res.Found {
		t.Fatal("the leader's no-op changed something")
	}
}

// TestSessionsApplyOnce retries commands the way a client does after a timeout: each is
// applied once and the retry gets the first answer.
func TestSessionsApplyOnce(t *testing.T) {
	s := New()
	s.Apply([]byte("set n 0"))
	first, _ := s.Apply([]byte("@c1:1 set n 1"))
	retry, _ := s.Apply([]byte("@c1:1 set n 1"))
	if !retry.Duplicate || retry.Value != first.Value || retry.Found != first.Found {
		t.Fatalf("retry answered %+v, first %+v", retry, first)
	}
	s.Apply([]byte("set n 5")) // another client writes meanwhile
	if old, _ := s.Apply([]byte("@c1:1 set n 1")); !old.Duplicate {
		t.Fatal("a late duplicate was applied again")
	}
	if v, _ := s.Get("n"); v != "5" {
		t.Fatalf("n = %q: the late duplicate overwrote a newer write", v)
	}
	if res, _ := s.Apply([]byte("@c1:2 set n 2")); res.Duplicate {
		t.Fatal("the next sequence number was taken for a duplicate")
	}
	if res, _ := s.Apply([]byte("@c2:1 set n 3")); res.Duplicate {
		t.Fatal("another client's first command was taken for a duplicate")
	}
}

func TestSnapshotRestore(t *testing.T) {
	a := New()
	for _, c := range []string{"set x 1", "set y two words", "@c1:4 set z 3", "del x"} {
		a.Apply([]byte(c))
	}
	snap := a.Snapshot()
	b := New()
	b.Apply([]byte("set junk 1"))
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if string(b.Snapshot()) != string(snap) {
		t.Fatalf("restored store snapshots differently:\n%s\n%s", b.Snapshot(), snap)
	}
	if v, ok := b.Get("y"); !ok || v != "two words" {
		t.Fatalf("y = %q", v)
	}
	if _, ok := b.Get("junk"); ok {
		t.Fatal("restore kept old keys")
	}
	if res, _ := b.Apply([]byte("@c1:4 set z 9")); !res.Duplicate {
		t.Fatal("restore lost the sessions: a retry applied again")
	}
	if err := b.Restore([]byte("not json")); err == nil {
		t.Fatal("a bad snapshot restored")
	}
}
