package eventline

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Attribute keys with a place of their own in the line rather than in the field block.
const (
	NodeKey = "node"
	KindKey = "ev"
)

// TextHandler is a slog.Handler that writes the text form of docs/FORMAT.md. The record's message
// is the human message, the "node" attribute fills the [NODE] prefix, the "ev" attribute is the kind,
// and every other attribute becomes a field in the order given (groups are flattened with "_").
//
// A record without "ev" is still written, with ev=log, so nothing a node logs is lost.
type TextHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Leveler
	node  string
	kind  string
	pre   []Field // attributes bound with WithAttrs
	group string  // prefix for keys, from WithGroup
}

// NewTextHandler returns a handler writing event lines to w. A nil level means slog.LevelDebug:
// event lines are debug output, and callers switch them off by not installing a handler at all.
func NewTextHandler(w io.Writer, level slog.Leveler) *TextHandler {
	if level == nil {
		level = slog.LevelDebug
	}
	return &TextHandler{mu: new(sync.Mutex), w: w, level: level}
}

// NewJSONHandler returns a handler writing the JSON-lines form: slog's own JSON handler, whose
// output already is that form when records carry the "node" and "ev" attributes. Durations are
// written as the text form writes them ("215ms"), not as slog's nanosecond numbers, so that a
// field reads the same in both forms.
func NewJSONHandler(w io.Writer, level slog.Leveler) slog.Handler {
	if level == nil {
		level = slog.LevelDebug
	}
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: durationAsText})
}

func durationAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// Enabled implements slog.Handler.
func (h *TextHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// WithAttrs implements slog.Handler.
func (h *TextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.pre = append([]Field(nil), h.pre...)
	for _, a := range attrs {
		c.pre = c.add(c.pre, h.group, a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *TextHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "_"
	return &c
}

// add appends attribute a to fields, taking node and ev out into the handler's own slots.
func (h *TextHandler) add(fields []Field, prefix string, a slog.Attr) []Field {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "_"
		}
		for _, g := range v.Group() {
			fields = h.add(fields, p, g)
		}
		return fields
	}
	if a.Key == "" {
		return fields
	}
	key := prefix + a.Key
	switch key {
	case NodeKey:
		h.node = v.String()
		return fields
	case KindKey:
		h.kind = v.String()
		return fields
	}
	return append(fields, Field{Key: key, Value: FormatValue(v)})
}

// FormatValue renders a slog value the way the text form writes it.
func FormatValue(v slog.Value) string {
	switch v.Kind() {
	case slog.KindInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case slog.KindUint64:
		return strconv.FormatUint(v.Uint64(), 10)
	case slog.KindBool:
		return strconv.FormatBool(v.Bool())
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	}
	return v.String()
}

// bufPool recycles line buffers; a node writes thousands of lines a second when debugging.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// Handle implements slog.Handler.
func (h *TextHandler) Handle(_ context.Context, r slog.Record) error {
	rec := *h // node and kind may be set by this record's attributes without touching h
	fields := make([]Field, 0, len(h.pre)+r.NumAttrs())
	fields = append(fields, h.pre...)
	r.Attrs(func(a slog.Attr) bool {
		fields = rec.add(fields, h.group, a)
		return true
	})
	kind := rec.kind
	if kind == "" {
		kind = "log"
	}
	node := rec.node
	if node == "" {
		node = "?"
	}
	bp := bufPool.Get().(*[]byte)
	buf := AppendText((*bp)[:0], r.Time, node, r.Message, kind, fields)
	h.mu.Lock()
	_, err := h.w.Write(buf)
	h.mu.Unlock()
	*bp = buf
	bufPool.Put(bp)
	return err
}
