package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/storage"
)

// counter is the cheapest state machine that still answers: it counts commands.
type counter struct{ n int }

func (c *counter) Apply(uint64, []byte) (any, error) { c.n++; return c.n, nil }
func (c *counter) Snapshot() ([]byte, error)         { return nil, nil }
func (c *counter) Restore([]byte) error              { return nil }

// BenchmarkNodeSubmit measures the node's own cost per command, without a network or a disk:
// a single node on in-memory storage, clients submitting in parallel through Node.Submit (the
// channel hop to the node's goroutine, propose, save, apply, the answer back).
func BenchmarkNodeSubmit(b *testing.B) {
	n, err := Start(Config{ID: 1, Peers: []uint64{1}, Bootstrap: true, Storage: storage.NewMemory(),
		Sender: &journal{}, StateMachine: &counter{}, TickInterval: time.Millisecond, SnapshotEvery: 10000})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Stop()
	ctx := context.Background()
	for {
		_, err := n.Submit(ctx, []byte("set key value"))
		if err == nil {
			break
		}
		if !errors.Is(err, raft.ErrNotLeader) {
			b.Fatal(err)
		}
		time.Sleep(time.Millisecond) // not yet elected: the ticker runs on wall time
	}
	cmd := []byte("set key value")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := n.Submit(ctx, cmd); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
