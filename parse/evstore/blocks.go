package evstore

import (
	"fmt"
	"math/bits"
)

// Blocks is a list that grows by appending, kept in blocks that never move: a million items
// are never copied to make room (a slice grown by append copies them some twenty times, old
// and new held at once, in a pause that grows with the list), and a list of ten costs a small
// first block. Copying a Blocks value makes a view of the items so far: appending to the
// original only writes past them (until Truncate).
type Blocks[T any] struct {
	blocks [][]T
	n      int
}

// Blocks: the first two hold firstBlock items, each next one twice as many as the one before,
// up to maxBlock; from there on every block holds maxBlock.
const (
	firstBlockBits = 8
	maxBlockBits   = 14
	firstBlock     = 1 << firstBlockBits
	maxBlock       = 1 << maxBlockBits
)

// blockOf returns the block holding item i and i's place in it.
func blockOf(i int) (block, at int) {
	switch {
	case i < firstBlock:
		return 0, i
	case i < maxBlock:
		k := bits.Len(uint(i >> firstBlockBits))
		return k, i - firstBlock<<(k-1)
	default:
		k := maxBlockBits - firstBlockBits + 1
		return k + (i-maxBlock)>>maxBlockBits, (i - maxBlock) & (maxBlock - 1)
	}
}

// blockSize is the number of items block k holds.
func blockSize(k int) int {
	if k == 0 {
		return firstBlock
	}
	return firstBlock << min(k-1, maxBlockBits-firstBlockBits)
}

// Len returns the number of items.
func (l *Blocks[T]) Len() int { return l.n }

// At returns item i.
func (l *Blocks[T]) At(i int) T { return *l.Ptr(i) }

// Ptr returns a pointer to item i.
func (l *Blocks[T]) Ptr(i int) *T {
	if uint(i) >= uint(l.n) {
		panic(fmt.Sprintf("evstore: item %d of %d", i, l.n))
	}
	k, at := blockOf(i)
	return &l.blocks[k][at]
}

// Append adds x at the end.
func (l *Blocks[T]) Append(x T) {
	k, at := blockOf(l.n)
	if k == len(l.blocks) {
		l.blocks = append(l.blocks, make([]T, blockSize(k)))
	}
	l.blocks[k][at] = x
	l.n++
}

// Truncate keeps the first n items (n at most Len); the blocks stay, to be written again.
func (l *Blocks[T]) Truncate(n int) {
	if n < 0 || n > l.n {
		panic(fmt.Sprintf("evstore: truncate to %d of %d", n, l.n))
	}
	l.n = n
}

// Search returns the first i in [0, Len) for which f(At(i)) is true, f being false and then
// true along the list (sort.Search); Len when there is none.
func (l *Blocks[T]) Search(f func(T) bool) int {
	lo, hi := 0, l.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if !f(l.At(mid)) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// All yields the items in order with their index.
func (l *Blocks[T]) All() func(yield func(int, T) bool) {
	return func(yield func(int, T) bool) {
		for i := range l.n {
			if !yield(i, l.At(i)) {
				return
			}
		}
	}
}

// Bytes returns the memory the blocks take, given the size of one item.
func (l *Blocks[T]) Bytes(itemSize int) int {
	n := 0
	for _, b := range l.blocks {
		n += len(b) * itemSize
	}
	return n
}
