package analyze

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
)

// Linearizability is the result of checking the key-value history of a test's client
// operations (invoke and return events) with porcupine.
type Linearizability struct {
	Operations int    `json:"operations"`
	Pending    int    `json:"pending"` // operations with no answer (or a failed one): they may or may not have happened
	Result     string `json:"result"`  // ok, illegal, or unknown (the checker timed out)
}

type kvInput struct {
	op, key, value string
}

type kvOutput struct {
	value   string
	found   bool
	unknown bool // no answer: any output is possible
}

type kvState struct {
	value string
	found bool
}

// kvModel is the sequential specification of the store, partitioned by key (operations on
// different keys never constrain each other, which keeps the search small).
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(kvInput).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return kvState{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st, in, out := state.(kvState), input.(kvInput), output.(kvOutput)
		switch in.op {
		case "set":
			return true, kvState{value: in.value, found: true}
		case "del":
			return true, kvState{}
		}
		if out.unknown {
			return true, st
		}
		return out.found == st.found && (!st.found || out.value == st.value), st
	},
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(kvInput), output.(kvOutput)
		switch {
		case in.op == "set":
			return fmt.Sprintf("set(%q, %q)", in.key, in.value)
		case in.op == "del":
			return fmt.Sprintf("del(%q)", in.key)
		case out.unknown:
			return fmt.Sprintf("get(%q) -> ?", in.key)
		case !out.found:
			return fmt.Sprintf("get(%q) -> none", in.key)
		}
		return fmt.Sprintf("get(%q) -> %q", in.key, out.value)
	},
	DescribeState: func(state interface{}) string {
		st := state.(kvState)
		if !st.found {
			return "none"
		}
		return fmt.Sprintf("%q", st.value)
	},
}

type pendingOp struct {
	in   kvInput
	call int64
	cl   string
}

// historyBuilder collects the client operations of a test from its invoke and return events, as
// they stream past.
type historyBuilder struct {
	open    map[string]pendingOp
	clients map[string]int
	ops     []porcupine.Operation
	pending int
}

func newHistoryBuilder() historyBuilder {
	return historyBuilder{open: map[string]pendingOp{}, clients: map[string]int{}}
}

func (h *historyBuilder) clientID(c string) int {
	id, ok := h.clients[c]
	if !ok {
		id = len(h.clients)
		h.clients[c] = id
	}
	return id
}

func (h *historyBuilder) add(e *parse.Event) {
	switch e.Kind {
	case eventline.KindInvoke:
		cl, _ := e.Field("client")
		id, _ := e.Field("op_id")
		op, _ := e.Field("op")
		key, _ := e.Field("key")
		val, _ := e.Field("value")
		h.open[cl+"/"+id] = pendingOp{in: kvInput{op: op, key: key, value: val}, call: e.Time, cl: cl}
	case eventline.KindReturn:
		cl, _ := e.Field("client")
		id, _ := e.Field("op_id")
		p, ok := h.open[cl+"/"+id]
		if !ok {
			return
		}
		delete(h.open, cl+"/"+id)
		okv, _ := e.Field("ok")
		if okv != "true" {
			// A failed request may still have taken effect: it stays open to the end.
			h.ops = append(h.ops, porcupine.Operation{ClientId: h.clientID(p.cl), Input: p.in, Call: p.call,
				Output: kvOutput{unknown: true}, Return: math.MaxInt64})
			h.pending++
			return
		}
		val, found := e.Field("value")
		h.ops = append(h.ops, porcupine.Operation{ClientId: h.clientID(p.cl), Input: p.in, Call: p.call,
			Output: kvOutput{value: val, found: found}, Return: e.Time})
	}
}

// history returns the operations, those never answered open to the end.
func (h *historyBuilder) history() ([]porcupine.Operation, int) {
	ops, pending := h.ops, h.pending
	for _, p := range h.open {
		ops = append(ops, porcupine.Operation{ClientId: h.clientID(p.cl), Input: p.in, Call: p.call,
			Output: kvOutput{unknown: true}, Return: math.MaxInt64})
		pending++
	}
	return ops, pending
}

// check runs porcupine on the history; nil when there are no client operations. With htmlPath
// set, porcupine's visualization is written there.
func (h *historyBuilder) check(timeout time.Duration, htmlPath string) (*Linearizability, error) {
	ops, pending := h.history()
	if len(ops) == 0 {
		return nil, nil
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel, ops, timeout)
	l := &Linearizability{Operations: len(ops), Pending: pending, Result: string(res)}
	if htmlPath != "" {
		if err := porcupine.VisualizePath(kvModel, info, htmlPath); err != nil {
			return l, err
		}
	}
	return l, nil
}

// CheckHistory checks a test's client history. It returns nil when the test has no
// client operations. With htmlPath set, porcupine's visualization is written there.
func CheckHistory(t *parse.Test, timeout time.Duration, htmlPath string) (*Linearizability, error) {
	h := newHistoryBuilder()
	for i := range t.Events {
		h.add(&t.Events[i])
	}
	return h.check(timeout, htmlPath)
}
