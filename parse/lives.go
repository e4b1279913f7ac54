package parse

import "github.com/raftviz/raftviz/parse/eventline"

// Lives follows each node's process through its events: started, writing, down. Merged
// per-node logs of separate processes show a server killed with kill -9 only as a start
// line after lines that ended with no crash or stop: the process died after its last line.
// The analysis counts that crash, and the timeline marks it, by this one rule.
type Lives struct {
	nodes map[string]*life
}

type life struct {
	starts int
	// active: the node wrote an event since it last started; down: its last word was a crash
	// or stop; restarted: a restart event came before its start.
	active, down, restarted bool
	last                    int // position of its last event (Observe's i)
}

// Start is what a node's start event says of the life before it.
type Start uint8

// What a start event ends.
const (
	NotAStart    Start = iota // the event is no start
	FirstStart                // the node's first: lines before it were its start-up, not a life that ended
	AfterRestart              // a restart event came first (and counted the restart)
	AfterDown                 // the node had crashed or stopped: a restart
	AfterSilence              // the node was writing and said nothing of dying: it crashed after its last line
	Repeated                  // a start right after a start: no life between them
)

// Observe folds in event e, the i-th of its test, and says what it ends when it is a start;
// for AfterSilence, last is the position of the node's last event before it (where the
// unstated crash happened). The cluster pseudo-node has no life.
func (l *Lives) Observe(e *Event, i int) (s Start, last int) {
	if e.Node == eventline.ClusterNode {
		return NotAStart, 0
	}
	if l.nodes == nil {
		l.nodes = map[string]*life{}
	}
	n := l.nodes[e.Node]
	if n == nil {
		n = &life{}
		l.nodes[e.Node] = n
	}
	s, last = NotAStart, n.last
	switch e.Kind {
	case eventline.KindCrash, eventline.KindStop:
		n.down = true
	case eventline.KindRestart:
		n.restarted, n.down = true, false
	case eventline.KindStart:
		switch {
		case n.starts == 0:
			s = FirstStart
		case n.restarted:
			s = AfterRestart
		case n.down:
			s = AfterDown
		case n.active:
			s = AfterSilence
		default:
			s = Repeated
		}
		n.starts++
		n.active, n.down, n.restarted = false, false, false
	default:
		n.active = true
	}
	n.last = i
	return s, last
}

// Started reports whether node has had a start event.
func (l *Lives) Started(node string) bool {
	n := l.nodes[node]
	return n != nil && n.starts > 0
}

// Forget drops what is known of node's life: a fresh instance of the same id (a new cluster
// in the same log) starts with none.
func (l *Lives) Forget(node string) { delete(l.nodes, node) }
