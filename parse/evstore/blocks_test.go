package evstore

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestBlocksHoldEveryItemOnce: the blocks, small first and growing, place each item right after
// the one before, and never outside its block.
func TestBlocksHoldEveryItemOnce(t *testing.T) {
	k, at := blockOf(0)
	if k != 0 || at != 0 {
		t.Fatalf("event 0 in block %d at %d", k, at)
	}
	for i := 1; i < 3*maxBlock+5*firstBlock; i++ {
		nk, nat := blockOf(i)
		switch {
		case nk == k && nat == at+1:
		case nk == k+1 && nat == 0 && at == blockSize(k)-1:
		default:
			t.Fatalf("item %d in block %d at %d, after block %d at %d (size %d)", i, nk, nat, k, at, blockSize(k))
		}
		k, at = nk, nat
	}
	if blockSize(0) != firstBlock || blockSize(k) != maxBlock {
		t.Fatalf("blocks of %d and %d items", blockSize(0), blockSize(k))
	}
}

// TestBlocksActAsASlice: random appends and truncations leave a Blocks holding what a slice
// treated alike holds; Search finds what sort.Search finds; a copy taken earlier still holds
// the items it had while the original only appends.
func TestBlocksActAsASlice(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var l Blocks[int32]
	var want []int32
	for step := range 3000 {
		if r.IntN(10) == 0 && len(want) > 0 {
			n := r.IntN(len(want) + 1)
			l.Truncate(n)
			want = want[:n]
		}
		view, viewLen := l, len(want)
		for range r.IntN(3 * firstBlock) {
			x := int32(step*1000 + len(want))
			l.Append(x)
			want = append(want, x)
		}
		if view.Len() != viewLen || viewLen > 0 && view.At(viewLen-1) != want[viewLen-1] {
			t.Fatalf("step %d: an earlier copy changed", step)
		}
		if l.Len() != len(want) {
			t.Fatalf("step %d: Len %d, want %d", step, l.Len(), len(want))
		}
		if step%100 == 0 {
			var got []int32
			for _, x := range l.All() {
				got = append(got, x)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: items differ", step)
			}
		}
		if len(want) > 0 {
			v := want[r.IntN(len(want))]
			f := func(x int32) bool { return x >= v }
			if g, w := l.Search(f), sort.Search(len(want), func(i int) bool { return f(want[i]) }); g != w {
				t.Fatalf("step %d: Search %d, want %d", step, g, w)
			}
		}
	}
	if !slices.Equal(func() (out []int32) {
		for _, x := range l.All() {
			out = append(out, x)
		}
		return out
	}(), want) {
		t.Fatal("items differ at the end")
	}
}
