package raft

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
)

// DebugEnv is the environment variable that switches event lines on at run time: RAFT_DEBUG=1
// writes the text form of docs/FORMAT.md to stderr, RAFT_DEBUG=json the JSON form.
const DebugEnv = "RAFT_DEBUG"

// HandlerFromEnv returns the slog handler RAFT_DEBUG asks for, or nil when debug output is off.
func HandlerFromEnv() slog.Handler {
	switch os.Getenv(DebugEnv) {
	case "", "0", "false", "off":
		return nil
	case "json":
		return eventline.NewJSONHandler(os.Stderr, nil)
	}
	return eventline.NewTextHandler(os.Stderr, nil)
}

// Tracer writes a node's event lines. A nil *Tracer is valid and writes nothing; callers guard
// with On() so that, with debug output off, no attributes or messages are even built.
type Tracer struct {
	h    slog.Handler
	node string
	now  func() time.Time
}

// NewTracer returns a tracer for node writing to h, stamping events with now (the simulator
// passes its virtual clock). A nil h returns nil: tracing off.
func NewTracer(h slog.Handler, node string, now func() time.Time) *Tracer {
	if h == nil {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Tracer{h: h, node: node, now: now}
}

// On reports whether events are written.
func (t *Tracer) On() bool { return t != nil }

// Node returns the node id the tracer stamps on its lines.
func (t *Tracer) Node() string { return t.node }

// Emit writes one event line: kind is the ev field, term and role the fields every event of a
// node carries (role < 0... see EmitCluster for cluster events).
func (t *Tracer) Emit(kind, msg string, term uint64, role Role, attrs ...slog.Attr) {
	if t == nil {
		return
	}
	r := slog.NewRecord(t.now(), slog.LevelDebug, msg, 0)
	r.AddAttrs(slog.String(eventline.NodeKey, t.node), slog.String(eventline.KindKey, kind),
		slog.Uint64("term", term), slog.String("state", role.String()))
	r.AddAttrs(attrs...)
	_ = t.h.Handle(context.Background(), r)
}

// EmitStateless writes an event of the node from a part that does not know its Raft state (the
// transport, storage checks before the node starts): it carries no term and no state, because
// a made-up term=0 reads as the node's term going back.
func (t *Tracer) EmitStateless(kind, msg string, attrs ...slog.Attr) {
	if t == nil {
		return
	}
	r := slog.NewRecord(t.now(), slog.LevelDebug, msg, 0)
	r.AddAttrs(slog.String(eventline.NodeKey, t.node), slog.String(eventline.KindKey, kind))
	r.AddAttrs(attrs...)
	_ = t.h.Handle(context.Background(), r)
}

// EmitCluster writes an event of the whole cluster ([*]), such as a partition.
func EmitCluster(h slog.Handler, now time.Time, kind, msg string, attrs ...slog.Attr) {
	if h == nil {
		return
	}
	r := slog.NewRecord(now, slog.LevelDebug, msg, 0)
	r.AddAttrs(slog.String(eventline.NodeKey, eventline.ClusterNode), slog.String(eventline.KindKey, kind))
	r.AddAttrs(attrs...)
	_ = h.Handle(context.Background(), r)
}

// ID formats a node id as event lines write it.
func ID(id uint64) string { return strconv.FormatUint(id, 10) }

func idAttr(key string, id uint64) slog.Attr {
	if id == None {
		return slog.String(key, "none")
	}
	return slog.String(key, ID(id))
}
