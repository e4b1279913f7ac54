package eventline

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomText returns a string of n bytes drawn from ASCII, the bytes that need quoting, and
// multi-byte UTF-8: lengths past 127 take a second length byte.
func randomText(r *rand.Rand, n int) string {
	const alphabet = "abz019 =|\"\\\t\x00\x7f\xff"
	var b strings.Builder
	for b.Len() < n {
		if r.IntN(10) == 0 {
			b.WriteString("ü")
			continue
		}
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// TestFieldsPackAndUnpack packs random fields and reads them back: every pair in order, Get
// finding the first of a repeated key, Len, and String as the field block of a line writes
// them (which ParseFields reads back to the same pairs).
func TestFieldsPackAndUnpack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var fs []Field
		for range r.IntN(12) {
			size := r.IntN(8)
			if r.IntN(8) == 0 {
				size = 100 + r.IntN(300)
			}
			value := randomText(r, size)
			if r.IntN(3) == 0 {
				value = tokens[r.IntN(len(tokens))] // "" among them
			}
			fs = append(fs, Field{Key: []string{"term", "type", "to", "k", "x", "tox", "follower"}[r.IntN(7)], Value: value})
		}
		packed := MakeFields(fs...)
		if got := packed.Slice(); !slices.Equal(got, fs) {
			t.Fatalf("unpacked %q, want %q", got, fs)
		}
		if packed.Len() != len(fs) {
			t.Fatalf("Len = %d, want %d", packed.Len(), len(fs))
		}
		for _, key := range []string{"term", "type", "to", "k", "x", "tox", "follower", "missing"} {
			v, ok := packed.Get(key)
			want, wantOK := Get(fs, key)
			if v != want || ok != wantOK {
				t.Fatalf("Get(%q) = %q, %v; want %q, %v (fields %q)", key, v, ok, want, wantOK, fs)
			}
		}
		back, err := ParseFields(packed.String(), nil)
		if err != nil || !slices.Equal(back, fs) {
			t.Fatalf("String %q parsed back to %q, %v; want %q", packed.String(), back, err, fs)
		}
	}
}

// TestTokensPackInTwoBytes: a key or value that is a token costs two bytes, whatever its
// length; any other string its length and one.
func TestTokensPackInTwoBytes(t *testing.T) {
	for i, tok := range tokens {
		if got := len(MakeFields(Field{Key: tok, Value: "v"})); got != 2+2 {
			t.Errorf("token %d %q packs in %d bytes with a one-letter value, want 4", i, tok, got)
		}
		if got := MakeFields(Field{Key: "k", Value: tok}).Slice(); len(got) != 1 || got[0].Value != tok {
			t.Errorf("token %q reads back as %q", tok, got)
		}
		if !strings.HasSuffix(tok, "z") {
			if got := len(MakeFields(Field{Key: tok + "z", Value: "v"})); got != 1+len(tok)+1+2 {
				t.Errorf("%q, not a token, packs in %d bytes", tok+"z", got)
			}
		}
	}
}

// TestFieldsNotPackedReadAsFarAsTheyGo: a Fields made from arbitrary text (a bug, or a test
// that converts a string) yields no pair it cannot read whole, and never panics.
func TestFieldsNotPackedReadAsFarAsTheyGo(t *testing.T) {
	good := MakeFields(Field{"term", "3"})
	for _, f := range []Fields{"\x05ab", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", good + "\x09k", good + "\x01k", good + "\x00", good + "\x00\xff"} {
		n := 0
		for k, v := range f.All() {
			if k != "term" || v != "3" {
				t.Errorf("%q yielded %q=%q", f, k, v)
			}
			n++
		}
		if _, ok := f.Get("k"); ok {
			t.Errorf("%q: Get found a key cut short", f)
		}
		if n > 1 {
			t.Errorf("%q yielded %d pairs", f, n)
		}
	}
}
