package sim

import (
	"errors"
	"log/slog"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/storage"
)

// DiskFaults are the failures of the simulated disks, as probabilities per operation. Whatever
// they are, a disk never loses what an fsync that succeeded made durable.
type DiskFaults struct {
	// FsyncFail is the probability that an fsync fails. The node stops there (it must never
	// carry on after a failed fsync: the data may or may not be on disk), and its restart
	// finds either.
	FsyncFail float64
	// CorruptRead is the probability that a restart reads a corrupt record: the node refuses
	// to start (storage.CorruptError does so on a real disk), and a later restart reads the
	// disk again.
	CorruptRead float64
}

// errCorruptRead is what a simulated disk's unlucky read finds.
var errCorruptRead = errors.New("storage: a record read back with a bad checksum; refusing to start, as dropping it would lose data")

// errFsync is a failed fsync.
var errFsync = errors.New("storage: fsync: input/output error")

// disk is a node's simulated disk, with the semantics a real one has under a write-ahead log
// (storage.WAL): a Save is a write then an fsync; a crash loses what was written but not
// synced, except that any prefix of its records may have reached the platters (a torn write:
// the WAL's checksums cut the torn record, so a prefix of whole records is what a restart
// finds). A snapshot is written whole or not at all (a file renamed into place).
type disk struct {
	s       *Sim
	n       *node
	durable *storage.Memory // what survives a crash
	pending *write          // written, not yet synced
	closed  bool
}

type write struct {
	hs      raft.HardState
	entries []raft.Entry
}

func (d *disk) Load() (raft.HardState, []raft.Entry, error) {
	if d.closed {
		return raft.HardState{}, nil, storage.ErrClosed
	}
	return d.durable.Load()
}

func (d *disk) Snapshot() (*raft.Snapshot, error) { return d.durable.Snapshot() }

func (d *disk) Save(hs raft.HardState, entries []raft.Entry) error {
	if d.closed {
		return storage.ErrClosed
	}
	if hs.IsEmpty() && len(entries) == 0 {
		return nil
	}
	d.pending = &write{hs: hs, entries: entries}
	d.s.io(d.n, "after writing, before the fsync")
	if f := d.s.cfg.Disk.FsyncFail; f > 0 && d.s.rand.Float64() < f {
		return errFsync // pending stays: the crash that follows decides what survived
	}
	d.pending = nil
	if err := d.durable.Save(hs, entries); err != nil {
		return err
	}
	d.s.io(d.n, "after the fsync")
	return nil
}

func (d *disk) SaveSnapshot(snap raft.Snapshot) error {
	if d.closed {
		return storage.ErrClosed
	}
	if err := d.durable.SaveSnapshot(snap); err != nil {
		return err
	}
	d.s.io(d.n, "after saving a snapshot")
	return nil
}

func (d *disk) Close() error {
	d.closed = true
	return nil
}

// crash is the process dying: of a write not yet synced, a random prefix of its records (the
// WAL writes the entries, then the hard state) survives.
func (d *disk) crash() {
	d.closed = true
	w := d.pending
	d.pending = nil
	if w == nil {
		return
	}
	records := len(w.entries)
	if !w.hs.IsEmpty() {
		records++
	}
	keep := d.s.rand.IntN(records + 1)
	ents := w.entries[:min(keep, len(w.entries))]
	var hs raft.HardState
	if keep > len(w.entries) {
		hs = w.hs
	}
	if len(ents) > 0 || !hs.IsEmpty() {
		_ = d.durable.Save(hs, ents)
	}
}

// reopen is a restart reading the disk back; an unlucky read finds a corrupt record.
func (d *disk) reopen() error {
	if f := d.s.cfg.Disk.CorruptRead; f > 0 && d.s.rand.Float64() < f {
		return errCorruptRead
	}
	d.closed = false
	d.durable.Reopen()
	return nil
}

func (d *disk) durableTerm() uint64 {
	hs, _, _ := d.durable.Load()
	return hs.Term
}

// emitCorrupt writes the corrupt event of a node that refuses to start.
func (s *Sim) emitCorrupt(n *node, err error) {
	raft.NewTracer(s.cfg.Handler, raft.ID(n.id), s.clock).EmitStateless(eventline.KindCorrupt, err.Error(), slog.String("action", "fatal"))
}
