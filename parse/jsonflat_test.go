package parse

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
)

// jsonRecords are the lines of the tests' logs that begin with '{': logger records of zap,
// zerolog, slog and logrus, raftviz's JSON events, etcd trace events, go test -json records.
func jsonRecords(t testing.TB) [][]byte {
	var out [][]byte
	for _, log := range aheadInputs(t) {
		for _, l := range bytes.Split(log, []byte("\n")) {
			if l = bytes.TrimLeft(l, " \t"); len(l) > 0 && l[0] == '{' {
				out = append(out, l)
			}
		}
	}
	if len(out) < 1000 {
		t.Fatalf("only %d JSON records", len(out))
	}
	return out
}

// mangle changes a record at random: a byte flipped, dropped or doubled, the record cut short,
// an escape, a nested value, whitespace or a number of another shape put in.
func mangle(r *rand.Rand, rec []byte) []byte {
	b := bytes.Clone(rec)
	for range 1 + r.IntN(3) {
		i := r.IntN(len(b) + 1)
		bits := []string{`\"`, `\u00e9`, `\n`, `{"x":[1,{"y":null}]}`, " ", "\t\r\n", "-0.5e+3", "01", "1.", "-",
			"true", "nul", "\xff", "é", "\x01", ",", "}", ":", `"`, "1e", "tru", "[]", "{}", "0", "-12"}
		switch r.IntN(5) {
		case 0:
			if i < len(b) {
				b[i] ^= byte(1 << r.IntN(8))
			}
		case 1:
			if i < len(b) {
				b = append(b[:i], b[i+1:]...)
			}
		case 2:
			b = b[:i]
		default:
			b = append(b[:i], append([]byte(bits[r.IntN(len(bits))]), b[i:]...)...)
		}
	}
	return b
}

// TestDecodeRecordIsEncodingJSON: the fast record decoder gives encoding/json's answer (the
// map, the keys' order, whether it is a record) on every JSON line of the tests' logs and on
// 200,000 mangled ones.
func TestDecodeRecordIsEncodingJSON(t *testing.T) {
	recs := jsonRecords(t)
	r := rand.New(rand.NewPCG(8, 29))
	fast := 0
	check := func(b []byte) {
		m, order, ok := decodeRecord(b)
		wm, worder, wok := decodeOrdered(b)
		if ok != wok || !reflect.DeepEqual(m, wm) || !reflect.DeepEqual(order, worder) {
			t.Fatalf("%q:\n got %v %v %v\nwant %v %v %v", b, m, order, ok, wm, worder, wok)
		}
		if _, _, flat := decodeFlat(b); flat {
			fast++
		}
	}
	for _, rec := range recs {
		check(rec)
	}
	if fast < len(recs)*9/10 {
		t.Fatalf("the fast path decoded only %d of %d real records", fast, len(recs))
	}
	for range 200000 {
		check(mangle(r, recs[r.IntN(len(recs))]))
	}
}

// FuzzDecodeRecord: on any input the fast record decoder agrees with encoding/json.
func FuzzDecodeRecord(f *testing.F) {
	for _, rec := range jsonRecords(f)[:200] {
		f.Add(rec)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, order, ok := decodeRecord(b)
		wm, worder, wok := decodeOrdered(b)
		if ok != wok || !reflect.DeepEqual(m, wm) || !reflect.DeepEqual(order, worder) {
			t.Fatalf("%q: got %v %v %v, want %v %v %v", b, m, order, ok, wm, worder, wok)
		}
	})
}
