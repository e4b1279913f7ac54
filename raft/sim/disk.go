package sim

import (
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
	// to start (storage.CorruptError), and a later restart reads the disk again.
	CorruptRead float64
}

// disk is a node's storage in the simulator: the production write-ahead log (storage.WAL) on
// the node's simulated file system (simFS), so that every crash tears the WAL's own bytes and
// every restart runs its own recovery. It also keeps, for the safety checker, a copy of what
// the node made durable: every Save and SaveSnapshot that returned (a crash inside one may
// leave more on the disk, never less).
type disk struct {
	s       *Sim
	n       *node
	fs      *simFS
	wal     *storage.WAL    // nil while the node is down
	durable *storage.Memory // what returned Saves made durable
}

func newDisk(s *Sim, n *node) (*disk, error) {
	d := &disk{s: s, n: n, fs: newSimFS(s, n), durable: storage.NewMemory()}
	d.fs.faultFree = true
	w, err := storage.OpenWALOn(d.fs, dataDir)
	d.fs.faultFree = false
	if err != nil {
		return nil, err
	}
	d.wal = w
	return d, nil
}

// Load reads the log; while the node is down, what it made durable (the checker looks).
func (d *disk) Load() (raft.HardState, []raft.Entry, error) {
	if d.wal == nil {
		return d.durable.Load()
	}
	return d.wal.Load()
}

// Snapshot reads the snapshot; while the node is down, the one it made durable.
func (d *disk) Snapshot() (*raft.Snapshot, error) {
	if d.wal == nil {
		return d.durable.Snapshot()
	}
	return d.wal.Snapshot()
}

func (d *disk) Save(hs raft.HardState, entries []raft.Entry) error {
	if err := d.wal.Save(hs, entries); err != nil {
		return err
	}
	return d.durable.Save(hs, entries)
}

func (d *disk) SaveSnapshot(snap raft.Snapshot) error {
	if err := d.wal.SaveSnapshot(snap); err != nil {
		return err
	}
	if err := d.durable.SaveSnapshot(snap); err != nil {
		return err
	}
	d.s.io(d.n, "after saving a snapshot")
	return nil
}

func (d *disk) Close() error { return d.wal.Close() }

// Repaired says what the WAL cut off its tail at the last start (the driver writes it as a
// corrupt event).
func (d *disk) Repaired() *storage.Repair { return d.wal.Repaired() }

// crash is the process and the machine dying: the file system keeps what is durable and maybe
// a torn part of what is not.
func (d *disk) crash() {
	d.wal = nil
	d.fs.crash()
}

// reopen is a restart: the WAL replays what the disk holds (cutting a torn tail), or refuses a
// corrupt read. The checker's copy starts again from what it read.
func (d *disk) reopen() error {
	if f := d.s.cfg.Disk.CorruptRead; f > 0 && d.s.rand.Float64() < f {
		d.fs.corruptNext = true
	}
	w, err := storage.OpenWALOn(d.fs, dataDir)
	d.fs.corruptNext = false
	if err != nil {
		return err
	}
	hs, ents, err := w.Load()
	if err != nil {
		return err
	}
	snap, _ := w.Snapshot()
	m := storage.NewMemory()
	if snap != nil {
		if err := m.SaveSnapshot(*snap); err != nil {
			return err
		}
	}
	if err := m.Save(hs, ents); err != nil {
		return err
	}
	d.wal, d.durable = w, m
	return nil
}

// emitCorrupt writes the corrupt event of a node that refuses to start.
func (s *Sim) emitCorrupt(n *node, err error) {
	raft.NewTracer(s.cfg.Handler, raft.ID(n.id), s.clock).EmitStateless(eventline.KindCorrupt, err.Error(), slog.String("action", "fatal"))
}
