package parse

import "sort"

// SortNodes sorts node ids in natural order: ids that are numbers numerically, and otherwise
// digit runs compared as numbers ("n2" before "n10", "S1" before "S2"), so columns read as a person
// would number the servers.
func SortNodes(ids []string) {
	sort.SliceStable(ids, func(i, j int) bool { return NodeLess(ids[i], ids[j]) })
}

// NodeLess is the natural order of SortNodes.
func NodeLess(a, b string) bool {
	for a != "" && b != "" {
		ad, bd := isDigit(a[0]), isDigit(b[0])
		switch {
		case ad && bd:
			an, arest := digitRun(a)
			bn, brest := digitRun(b)
			// Compare numerically without parsing: strip leading zeros, then longer is bigger.
			at, bt := trimZeros(an), trimZeros(bn)
			if len(at) != len(bt) {
				return len(at) < len(bt)
			}
			if at != bt {
				return at < bt
			}
			if len(an) != len(bn) {
				return len(an) < len(bn)
			}
			a, b = arest, brest
		case ad != bd:
			return ad // digits before letters
		default:
			if a[0] != b[0] {
				return a[0] < b[0]
			}
			a, b = a[1:], b[1:]
		}
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitRun(s string) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// Book is what a run's logs say of their servers' other names: a member id, a peer id, an
// address, each mapped to the node it is shown as (a per-node file's node). Peers name each
// other by these in their messages (etcd's hex member ids, NATS peer ids, hashicorp's
// "leader=127.0.0.1:7001"), so with a book votes, arrows and leaders connect to the same column.
// The parsers of one Source share one book; they run on one goroutine.
type Book struct {
	names map[string]string
}

// NewBook returns an empty book.
func NewBook() *Book { return &Book{names: map[string]string{}} }

// Add says that name is another name of node. A name never changes its node once set (a
// later, conflicting claim is ignored), and a node's own name is never remapped.
func (b *Book) Add(name, node string) {
	if b == nil || name == "" || node == "" || name == node {
		return
	}
	if _, ok := b.names[name]; ok {
		return
	}
	if _, isNode := b.names[node]; isNode {
		return // node is itself another node's name: keep the first claim
	}
	if len(b.names) < 1<<16 {
		b.names[name] = node
	}
}

// Lookup returns the node a name belongs to.
func (b *Book) Lookup(name string) (string, bool) {
	if b == nil || len(b.names) == 0 {
		return "", false
	}
	n, ok := b.names[name]
	return n, ok
}
