package kv

import (
	"context"
	"log/slog"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
)

// EmitInvoke writes a client's invoke event (docs/FORMAT.md, "Client operations").
func EmitInvoke(h slog.Handler, at time.Time, client, opID string, c Command) {
	plain := c
	plain.Client, plain.Seq = "", 0
	r := slog.NewRecord(at, slog.LevelDebug, client+" "+string(plain.Encode()), 0)
	r.AddAttrs(slog.String(eventline.NodeKey, client), slog.String(eventline.KindKey, eventline.KindInvoke),
		slog.String("client", client), slog.String("op_id", opID), slog.String("op", string(c.Op)), slog.String("key", c.Key))
	if c.Op == OpSet {
		r.AddAttrs(slog.String("value", c.Value))
	}
	_ = h.Handle(context.Background(), r)
}

// EmitReturn writes the answer a client received; a get's value is present only when the key
// was found.
func EmitReturn(h slog.Handler, at time.Time, client, opID string, c Command, res Result, err error) {
	msg := client + " " + string(c.Op) + " " + c.Key + " -> ok"
	attrs := []slog.Attr{slog.String(eventline.NodeKey, client), slog.String(eventline.KindKey, eventline.KindReturn),
		slog.String("client", client), slog.String("op_id", opID), slog.String("op", string(c.Op)), slog.String("key", c.Key),
		slog.Bool("ok", err == nil)}
	switch {
	case err != nil:
		msg = client + " " + string(c.Op) + " " + c.Key + " -> error"
		attrs = append(attrs, slog.String("err", err.Error()))
	case c.Op == OpGet && res.Found:
		msg = client + " get " + c.Key + " -> " + res.Value
		attrs = append(attrs, slog.String("value", res.Value))
	case c.Op == OpGet:
		msg = client + " get " + c.Key + " -> none"
	}
	r := slog.NewRecord(at, slog.LevelDebug, msg, 0)
	r.AddAttrs(attrs...)
	_ = h.Handle(context.Background(), r)
}
