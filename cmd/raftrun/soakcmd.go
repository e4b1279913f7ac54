package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/analyze"
	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/kv"
	"github.com/raftviz/raftviz/raft/transport"
)

const soakUsage = `usage: raftrun soak [flags]

Runs a cluster of raftrun node processes on this machine under client load and faults, then
checks what it did. Three voters start; clients write and read a few keys through sessions
(one write in 500 of a 300 KB value), recording every operation; meanwhile, cycle after cycle,
the leader or a follower is killed with SIGKILL and restarted, all nodes are killed at once, a
node is paused (SIGSTOP), or a stranger without the cluster key sends vote requests of term
2^64-1. A fourth server joins and is removed during the load; a follower's data directory is
wiped and the node removed, added again and restarted; and once a follower's data is wiped and
it is started again with its usual flags, not --join (an operator's mistake), before it is
repaired the documented way. At the end every key is read, and the node logs and the clients'
history are analysed as 'raftviz analyze' does: Raft's safety checks and porcupine's
linearizability check of the history. An acknowledged write that was lost makes the history
non-linearizable. A node that ends on its own fails the soak. Exit 1 on any violation.

Flags:
`

// soakExecutable is the raftrun binary the nodes run (a test builds one).
var soakExecutable = os.Executable

func soakCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftrun soak", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cycles := fs.Int("cycles", 100, "fault `cycles` (kills, pauses, membership changes)")
	clients := fs.Int("clients", 8, "concurrent `clients`")
	keys := fs.Int("keys", 6, "`keys` the clients write and read")
	seed := fs.Uint64("seed", 1, "`seed` of the fault schedule and the clients' choices")
	dir := fs.String("dir", "", "keep the data directories and logs in `directory` (default: a temporary one, removed when the run passes)")
	if code, ok := parseFlagsOnly(fs, args, soakUsage, "", stdout, stderr); !ok {
		return code
	}
	switch {
	case *cycles < 4:
		fmt.Fprintf(stderr, "raftrun soak: --cycles must be at least 4 (one each for the join, the removal, the wipe and the wipe without --join), not %d\n", *cycles)
		return exitUsage
	case *clients < 1 || *keys < 1:
		fmt.Fprintln(stderr, "raftrun soak: --clients and --keys must be at least 1")
		return exitUsage
	}
	exe, err := soakExecutable()
	if err != nil {
		fmt.Fprintf(stderr, "raftrun soak: %v\n", err)
		return exitFailed
	}
	keep := *dir != ""
	if !keep {
		if *dir, err = os.MkdirTemp("", "raftrun-soak-"); err != nil {
			fmt.Fprintf(stderr, "raftrun soak: %v\n", err)
			return exitFailed
		}
	} else if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "raftrun soak: %v\n", err)
		return exitUsage
	}
	s, err := newSoak(exe, *dir, 4, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "raftrun soak: %v\n", err)
		return exitFailed
	}
	defer s.stopAll()
	code := s.run(ctx, soakPlan{cycles: *cycles, clients: *clients, keys: *keys, seed: *seed}, stdout)
	s.stopAll()
	switch {
	case code == exitOK && !keep:
		os.RemoveAll(*dir)
		fmt.Fprintln(stdout, "its folder of logs and data is removed, as the soak passed (--dir DIR keeps them)")
	default:
		fmt.Fprintf(stdout, "logs and data directories: %s\n", *dir)
	}
	return code
}

type soakPlan struct {
	cycles, clients, keys int
	seed                  uint64
}

// soak is a cluster of node processes and what was done to it.
type soak struct {
	exe, dir string
	addrs    map[uint64]string
	stderr   io.Writer

	mu     sync.Mutex
	procs  map[uint64]*exec.Cmd
	exited map[*exec.Cmd]chan struct{} // closed when the process has ended (its Wait returned)
	// died: nodes that ended on their own (not killed by the soak), and how: a node that
	// could not start or was refused used to leave the soak passing one node short.
	died    map[uint64]string
	members map[uint64]bool // the servers clients may be sent to
	counts  map[string]int  // faults done, by kind
	// auth: the cluster's key, in keyPath, which every node and client of the soak uses.
	auth    clusterAuth
	keyPath string
	// wipedNoJoin: nodes whose data the soak wiped and that it started without --join.
	wipedNoJoin map[uint64]bool
}

func newSoak(exe, dir string, n int, stderr io.Writer) (*soak, error) {
	s := &soak{exe: exe, dir: dir, stderr: stderr, addrs: map[uint64]string{}, procs: map[uint64]*exec.Cmd{},
		members: map[uint64]bool{}, counts: map[string]int{}, keyPath: filepath.Join(dir, "cluster.key")}
	// The nodes and clients hold a cluster key, as a careful operator's would.
	key, err := transport.WriteKeyFile(s.keyPath)
	if err != nil {
		return nil, err
	}
	s.auth = clusterAuth{id: 1, key: key}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for id := uint64(1); id <= uint64(n); id++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		s.addrs[id] = ln.Addr().String()
	}
	return s, nil
}

func (s *soak) logPath(id uint64) string {
	return filepath.Join(s.dir, "node"+strconv.FormatUint(id, 10)+".log")
}
func (s *soak) dataDir(id uint64) string {
	return filepath.Join(s.dir, "data"+strconv.FormatUint(id, 10))
}

// start runs node id knowing the given peers; join starts it as a new server.
func (s *soak) start(id uint64, join bool, peers []uint64) error {
	var list []string
	for _, p := range peers {
		if p != id {
			list = append(list, fmt.Sprintf("%d=%s", p, s.addrs[p]))
		}
	}
	args := []string{"node", "--id", strconv.FormatUint(id, 10), "--listen", s.addrs[id], "--peers", strings.Join(list, ","),
		"--data", s.dataDir(id), "--log", s.logPath(id), "--election-timeout", "300ms", "--heartbeat", "50ms",
		"--snapshot-every", "2000", "--cluster-key", s.keyPath}
	if join {
		args = append(args, "--join")
	}
	cmd := exec.Command(s.exe, args...)
	errLog, err := os.OpenFile(filepath.Join(s.dir, "node"+strconv.FormatUint(id, 10)+".stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stderr = errLog
	if err := cmd.Start(); err != nil {
		errLog.Close()
		return err
	}
	errLog.Close() // the child has its own descriptor
	done := make(chan struct{})
	s.mu.Lock()
	s.procs[id] = cmd
	if s.exited == nil {
		s.exited = map[*exec.Cmd]chan struct{}{}
	}
	s.exited[cmd] = done
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		if s.procs[id] == cmd { // not killed by the soak
			delete(s.procs, id)
			if s.died == nil {
				s.died = map[uint64]string{}
			}
			s.died[id] = fmt.Sprintf("node %d ended on its own (%v): %s", id, err, lastLine(filepath.Join(s.dir, "node"+strconv.FormatUint(id, 10)+".stderr")))
		}
		s.mu.Unlock()
		close(done)
	}()
	return nil
}

// lastLine is the last line of a file ("" when it has none): a node's last word on stderr.
func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return lines[len(lines)-1]
}

// deadNode returns how a node that should be running ended, or "".
func (s *soak) deadNode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.allIDs() {
		if msg, ok := s.died[id]; ok {
			return msg
		}
	}
	return ""
}

// kill ends node id with SIGKILL, as a crash or a power cut would.
func (s *soak) kill(id uint64) {
	s.mu.Lock()
	cmd := s.procs[id]
	delete(s.procs, id)
	done := s.exited[cmd]
	delete(s.exited, cmd)
	s.mu.Unlock()
	if cmd != nil {
		cmd.Process.Kill()
		<-done
	}
}

func (s *soak) stopAll() {
	s.mu.Lock()
	ids := make([]uint64, 0, len(s.procs))
	for id := range s.procs {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.kill(id)
	}
}

// peers returns the addresses of the current members, for clients.
func (s *soak) peers() map[uint64]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[uint64]string{}
	for id := range s.members {
		out[id] = s.addrs[id]
	}
	return out
}

func (s *soak) memberIDs() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []uint64
	for id := range s.members {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// leader asks the cluster which node leads (the one that answers a read).
func (s *soak) leader(ctx context.Context) (uint64, error) {
	_, by, err := Request(ctx, s.peers(), s.auth, string(kv.Command{Op: kv.OpGet, Key: "leader-probe"}.Encode()), 10*time.Second)
	return by, err
}

// conf runs a membership change step ("add_learner 4", "promote 4", "remove 4") until the
// leader accepts it.
func (s *soak) conf(ctx context.Context, step string) error {
	_, _, err := Request(ctx, s.peers(), s.auth, "conf "+step, 30*time.Second)
	return err
}

func (s *soak) run(ctx context.Context, plan soakPlan, stdout io.Writer) int {
	r := rand.New(rand.NewPCG(plan.seed, 0x50a4))
	voters := []uint64{1, 2, 3}
	for _, id := range voters {
		s.members[id] = true
		if err := s.start(id, false, voters); err != nil {
			fmt.Fprintf(s.stderr, "raftrun soak: starting node %d: %v\n", id, err)
			return exitFailed
		}
	}
	clientLog, err := os.Create(filepath.Join(s.dir, "clients.log"))
	if err != nil {
		fmt.Fprintf(s.stderr, "raftrun soak: %v\n", err)
		return exitFailed
	}
	defer clientLog.Close()
	h := eventline.NewTextHandler(clientLog, nil) // it writes one line at a time, under a lock

	began := time.Now()
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stats := make([]clientStats, plan.clients)
	for c := range plan.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[c] = s.client(loadCtx, h, c, plan.keys, plan.seed)
		}()
	}

	// The membership changes happen at fixed points of the schedule, during the load.
	joinAt, removeAt, wipeAt := plan.cycles/4, plan.cycles/2, 3*plan.cycles/4
	wipeNoJoinAt := plan.cycles - 1 // the last cycle not taken by the others
	for wipeNoJoinAt == joinAt || wipeNoJoinAt == removeAt || wipeNoJoinAt == wipeAt {
		wipeNoJoinAt--
	}
	failed := ""
	for cycle := 0; cycle < plan.cycles && ctx.Err() == nil && failed == ""; cycle++ {
		var err error
		done := ""
		switch cycle {
		case joinAt:
			err, done = s.join(ctx, 4), "join"
		case removeAt:
			err, done = s.remove(ctx, 4), "remove"
		case wipeAt:
			err, done = s.wipeAndReadd(ctx, r), "wipe and re-add"
		case wipeNoJoinAt:
			err, done = s.wipeWithoutJoin(ctx, r), "wipe without --join"
		default:
			err = s.fault(ctx, r) // counts its own kind
		}
		if err == nil {
			if dead := s.deadNode(); dead != "" {
				err = errors.New(dead)
			}
		}
		if err != nil {
			failed = fmt.Sprintf("cycle %d: %v", cycle, err)
		} else if done != "" {
			s.mu.Lock()
			s.counts[done]++
			s.mu.Unlock()
		}
		if (cycle+1)%10 == 0 {
			fmt.Fprintf(s.stderr, "raftrun soak: %d of %d cycles, %v\n", cycle+1, plan.cycles, time.Since(began).Round(time.Second))
		}
	}
	// Let the cluster settle with every member up, then stop the load and read every key.
	time.Sleep(time.Second)
	stopLoad()
	wg.Wait()
	if ctx.Err() != nil {
		fmt.Fprintln(s.stderr, "raftrun soak: interrupted")
		return exitInterrupted
	}
	finals := s.finalReads(ctx, h, plan.keys)
	rss := s.rss()
	s.stopAll()
	clientLog.Sync()

	var total clientStats
	for _, st := range stats {
		total.ops += st.ops
		total.acked += st.acked
		total.largeAcked += st.largeAcked
		total.unknown += st.unknown
	}
	s.mu.Lock()
	fmt.Fprintf(stdout, "soak: %d fault cycles in %v: %s\n", plan.cycles, time.Since(began).Round(time.Second), faultSummary(s.counts))
	s.mu.Unlock()
	fmt.Fprintf(stdout, "clients: %d, %d operations (%d writes acknowledged, %d of them of %d KB; %d without an answer), %d of %d keys read at the end\n",
		plan.clients, total.ops, total.acked, total.largeAcked, largeValue>>10, total.unknown, finals, plan.keys)
	if rss != "" {
		fmt.Fprintf(stdout, "node memory at the end (RSS): %s\n", rss)
	}
	code := exitOK
	if failed != "" {
		fmt.Fprintf(stdout, "FAILED %s\n", failed)
		code = exitFailed
	}
	if finals < plan.keys {
		fmt.Fprintf(stdout, "FAILED only %d of %d keys could be read at the end\n", finals, plan.keys)
		code = exitFailed
	}
	if c := s.check(ctx, stdout); c != exitOK {
		code = c
	}
	return code
}

type clientStats struct{ ops, acked, largeAcked, unknown int }

// largeValue and largeValueEvery: one write in largeValueEvery carries a value of about 300 KB.
const (
	largeValue      = 300 << 10
	largeValueEvery = 500
)

// historyValue is how the clients' history records a value: as it is, or, past 1 KiB, its start
// and a digest. Lines of 300 KB would be cut when the history is read back; the digest of the
// value written and of the value read compare as the values do.
func historyValue(v string) string {
	if len(v) <= 1<<10 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return v[:min(len(v), 32)] + "...sha256:" + hex.EncodeToString(sum[:12])
}

// historyCommand is a command as the history records it (historyValue).
func historyCommand(c kv.Command) kv.Command {
	c.Value = historyValue(c.Value)
	return c
}

// historyResult is an answer as the history records it (historyValue).
func historyResult(r kv.Result) kv.Result {
	r.Value = historyValue(r.Value)
	return r
}

// client writes and reads random keys through a session of its own until ctx ends, recording
// every operation as invoke and return events. A request without an answer is retried with the
// same session sequence number (so it applies at most once) and finally recorded as unknown.
func (s *soak) client(ctx context.Context, h slog.Handler, c, keys int, seed uint64) clientStats {
	r := rand.New(rand.NewPCG(seed, uint64(c)+1))
	var st clientStats
	session := ""
	for session == "" && ctx.Err() == nil {
		reply, _, err := Request(ctx, s.peers(), s.auth, string(kv.Command{Op: kv.OpRegister}.Encode()), 5*time.Second)
		if err != nil {
			pause(ctx, 5) // a refusal comes back at once: do not spin
			continue
		}
		first, _, _ := strings.Cut(reply.Text, " ")
		session = strings.TrimPrefix(first, "session=")
	}
	name := "c" + strconv.Itoa(c+1)
	for seq := uint64(1); ctx.Err() == nil; seq++ {
		cmd := kv.Command{Op: kv.OpGet, Key: "k" + strconv.Itoa(r.IntN(keys))}
		if r.IntN(3) > 0 {
			cmd = kv.Command{Op: kv.OpSet, Key: cmd.Key, Value: name + "-" + strconv.FormatUint(seq, 10)}
			if r.IntN(largeValueEvery) == 0 {
				// A large value now and then: AppendEntries must stay under the frame limit
				// by bytes, and a follower behind must still catch up (issue 30, 3).
				cmd.Value += ":" + strings.Repeat("x", largeValue)
			}
		}
		cmd.Client, cmd.Seq = session, seq
		opID := strconv.FormatUint(seq, 10)
		kv.EmitInvoke(h, time.Now(), name, opID, historyCommand(cmd))
		reply, _, err := Request(ctx, s.peers(), s.auth, string(cmd.Encode()), 8*time.Second)
		var res kv.Result
		if err == nil {
			res = parseReply(reply)
			if cmd.Op == kv.OpSet {
				st.acked++
				if len(cmd.Value) > largeValue {
					st.largeAcked++
				}
			}
		} else {
			st.unknown++
		}
		kv.EmitReturn(h, time.Now(), name, opID, historyCommand(cmd), historyResult(res), err)
		st.ops++
	}
	return st
}

// parseReply reads a get's answer ("value=V index=N" or "not_found index=N").
func parseReply(reply transport.Reply) kv.Result {
	first, _, _ := strings.Cut(reply.Text, " ")
	if v, ok := strings.CutPrefix(first, "value="); ok {
		return kv.Result{Value: v, Found: true}
	}
	return kv.Result{}
}

// finalReads reads every key once more, recorded like any read, and returns how many answered.
func (s *soak) finalReads(ctx context.Context, h slog.Handler, keys int) int {
	n := 0
	for k := range keys {
		cmd := kv.Command{Op: kv.OpGet, Key: "k" + strconv.Itoa(k)}
		opID := strconv.Itoa(k + 1)
		kv.EmitInvoke(h, time.Now(), "final", opID, cmd)
		reply, _, err := Request(ctx, s.peers(), s.auth, string(cmd.Encode()), 30*time.Second)
		kv.EmitReturn(h, time.Now(), "final", opID, cmd, historyResult(parseReply(reply)), err)
		if err == nil {
			n++
		}
	}
	return n
}

// fault does one cycle: kill the leader, kill a follower, kill every node, or pause one; the
// killed nodes come back after a short while.
func (s *soak) fault(ctx context.Context, r *rand.Rand) error {
	ids := s.memberIDs()
	down := time.Duration(100+r.IntN(700)) * time.Millisecond
	kind := []string{"leader kill", "leader kill", "follower kill", "follower kill", "kill all", "pause", "stranger"}[r.IntN(7)]
	var victims []uint64
	switch kind {
	case "stranger":
		s.mu.Lock()
		s.counts[kind]++
		s.mu.Unlock()
		return s.stranger(ids)
	case "leader kill", "follower kill":
		lead, err := s.leader(ctx)
		if err != nil {
			return fmt.Errorf("no leader before a %s: %w", kind, err)
		}
		victims = []uint64{lead}
		if kind == "follower kill" {
			var others []uint64
			for _, id := range ids {
				if id != lead {
					others = append(others, id)
				}
			}
			victims = []uint64{others[r.IntN(len(others))]}
		}
	case "kill all":
		victims = ids
	case "pause":
		id := ids[r.IntN(len(ids))]
		s.mu.Lock()
		cmd := s.procs[id]
		s.counts[kind]++
		s.mu.Unlock()
		if cmd != nil {
			cmd.Process.Signal(syscall.SIGSTOP)
			time.Sleep(down + 500*time.Millisecond)
			cmd.Process.Signal(syscall.SIGCONT)
		}
		time.Sleep(300 * time.Millisecond)
		return nil
	}
	for _, id := range victims {
		s.kill(id)
	}
	s.mu.Lock()
	s.counts[kind]++
	s.mu.Unlock()
	time.Sleep(down)
	for _, id := range victims {
		if err := s.start(id, false, s.allIDs()); err != nil {
			return fmt.Errorf("restarting node %d: %w", id, err)
		}
	}
	time.Sleep(time.Duration(200+r.IntN(400)) * time.Millisecond)
	return nil
}

// allIDs is every node that has an address, for --peers (restarts read the membership from
// their log; flags give only addresses).
func (s *soak) allIDs() []uint64 {
	ids := make([]uint64, 0, len(s.addrs))
	for id := range s.addrs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// join starts a new server and adds it: as a learner first, promoted once it caught up.
func (s *soak) join(ctx context.Context, id uint64) error {
	if err := s.start(id, true, s.memberIDs()); err != nil {
		return err
	}
	if err := s.conf(ctx, "add_learner "+strconv.FormatUint(id, 10)); err != nil {
		return fmt.Errorf("adding node %d: %w", id, err)
	}
	if err := s.conf(ctx, "promote "+strconv.FormatUint(id, 10)); err != nil {
		return fmt.Errorf("promoting node %d: %w", id, err)
	}
	s.mu.Lock()
	s.members[id] = true
	s.mu.Unlock()
	return nil
}

// remove takes a server out of the cluster and stops it.
func (s *soak) remove(ctx context.Context, id uint64) error {
	// Asked of every member, the one removed included: it may be the leader.
	if err := s.conf(ctx, "remove "+strconv.FormatUint(id, 10)); err != nil {
		return fmt.Errorf("removing node %d: %w", id, err)
	}
	s.mu.Lock()
	delete(s.members, id) // clients stop asking it
	s.mu.Unlock()
	s.kill(id)
	return nil
}

// follower picks a member that is not the leader, for a fault (what names it in an error).
func (s *soak) follower(ctx context.Context, r *rand.Rand, what string) (uint64, error) {
	lead, err := s.leader(ctx)
	if err != nil {
		return 0, fmt.Errorf("no leader before %s: %w", what, err)
	}
	var followers []uint64
	for _, id := range s.memberIDs() {
		if id != lead {
			followers = append(followers, id)
		}
	}
	if len(followers) == 0 {
		return 0, fmt.Errorf("no follower for %s", what)
	}
	return followers[r.IntN(len(followers))], nil
}

// wipeAndReadd loses a follower's data directory, as a replaced disk would: the node is killed,
// removed, wiped, and added again as a new server.
func (s *soak) wipeAndReadd(ctx context.Context, r *rand.Rand) error {
	id, err := s.follower(ctx, r, "the wipe")
	if err != nil {
		return err
	}
	s.kill(id)
	if err := s.remove(ctx, id); err != nil {
		return err
	}
	if err := os.RemoveAll(s.dataDir(id)); err != nil {
		return err
	}
	if err := s.join(ctx, id); err != nil {
		return err
	}
	// Restarted once re-added: its peers must take it (issue 30, 4: one was refused and exited).
	s.kill(id)
	time.Sleep(200 * time.Millisecond)
	return s.start(id, false, s.allIDs())
}

// wipeWithoutJoin is the operator's mistake of issue 30: a follower's data directory is lost
// and the node is started again with its usual flags, not --join. Its peers refuse it, or it
// runs holding nothing and must vote no stale leader in; either way no acknowledged write may
// be lost. Then it is repaired as documented: removed, wiped, added again.
func (s *soak) wipeWithoutJoin(ctx context.Context, r *rand.Rand) error {
	id, err := s.follower(ctx, r, "the wipe without --join")
	if err != nil {
		return err
	}
	s.kill(id)
	if err := os.RemoveAll(s.dataDir(id)); err != nil {
		return err
	}
	s.mu.Lock()
	if s.wipedNoJoin == nil {
		s.wipedNoJoin = map[uint64]bool{}
	}
	s.wipedNoJoin[id] = true
	s.mu.Unlock()
	if err := s.start(id, false, s.allIDs()); err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // the load goes on; its peers refuse it, or it refuses to vote
	s.kill(id)
	s.mu.Lock()
	delete(s.died, id) // refused and ended: what its peers must do
	s.mu.Unlock()
	if err := s.remove(ctx, id); err != nil {
		return err
	}
	if err := os.RemoveAll(s.dataDir(id)); err != nil {
		return err
	}
	return s.join(ctx, id)
}

// stranger connects to the members as a node without the cluster key and sends vote requests
// of term 2^64-1 (one such frame once stalled a cluster for good).
func (s *soak) stranger(ids []uint64) error {
	peers := map[uint64]string{}
	for _, id := range ids {
		peers[id] = s.addrs[id]
	}
	tr, err := transport.ListenTCP(transport.TCPConfig{ID: 99, ClusterID: 1, Listen: "127.0.0.1:0", Peers: peers})
	if err != nil {
		return err
	}
	defer tr.Close()
	for i := 0; i < 10; i++ {
		for _, id := range ids {
			tr.Send(raft.Message{Type: raft.MsgVote, From: 99, To: id, Term: math.MaxUint64, LastIndex: math.MaxUint64, LastTerm: math.MaxUint64})
		}
		time.Sleep(30 * time.Millisecond)
	}
	return nil
}

func faultSummary(counts map[string]int) string {
	var parts []string
	for _, k := range []string{"leader kill", "follower kill", "kill all", "pause", "stranger", "join", "remove", "wipe and re-add", "wipe without --join"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

// rss reports the resident memory of the running nodes (Linux only; "" elsewhere).
func (s *soak) rss() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	for _, id := range s.allIDs() {
		cmd := s.procs[id]
		if cmd == nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			return ""
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
				parts = append(parts, fmt.Sprintf("node %d %d MB", id, kb/1024))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// check analyses the node logs and the clients' history as raftviz analyze does, and prints
// every check's verdict.
func (s *soak) check(ctx context.Context, stdout io.Writer) int {
	names := []string{filepath.Join(s.dir, "clients.log")}
	for _, id := range s.allIDs() {
		if _, err := os.Stat(s.logPath(id)); err == nil {
			names = append(names, s.logPath(id))
		}
	}
	src, err := parse.Open(names, nil, parse.Options{})
	if err != nil {
		fmt.Fprintf(stdout, "FAILED reading the logs: %v\n", err)
		return exitFailed
	}
	defer src.Close()
	var reports []analyze.Report
	err = analyze.Stream(ctx, src, analyze.StreamOptions{
		Select: func(*parse.Test) (analyze.Options, bool) { return analyze.Options{LinTimeout: 5 * time.Minute}, true },
		Report: func(r analyze.Report) error { reports = append(reports, r); return nil },
	})
	if err != nil || len(reports) != 1 {
		fmt.Fprintf(stdout, "FAILED analysing the logs: %v (%d tests)\n", err, len(reports))
		return exitFailed
	}
	r := reports[0]
	// The logs are named as in the soak's folder: a passing soak removes the folder unless
	// --dir gave it, and a path printed here would then lead nowhere.
	base := make([]string, len(names))
	for i, n := range names {
		base[i] = filepath.Base(n)
	}
	fmt.Fprintf(stdout, "analysis of %d logs, %d events (raftviz analyze %s, in the soak's folder):\n", len(names), r.Events, strings.Join(base, " "))
	// A check violated only where the soak destroyed a node's storage is shown as expected: a
	// "violated" line above an EXPECTED one read as a failure.
	unexpected := map[string]bool{}
	for _, v := range r.Violations {
		if !s.lostStorage(v) {
			unexpected[v.Check] = true
		}
	}
	for _, c := range r.Checks {
		status := strings.ReplaceAll(c.Status, "_", " ")
		if status == "violated" && !unexpected[c.Name] {
			status = "expected"
		}
		fmt.Fprintf(stdout, "  %-11s  %s", status, c.Name)
		if c.Why != "" {
			fmt.Fprintf(stdout, " (%s)", c.Why)
		}
		fmt.Fprintln(stdout)
	}
	failures := 0
	for _, v := range r.Violations {
		if s.lostStorage(v) {
			// The soak destroyed that node's storage: its term going back is what the logs
			// must show, and no write may be lost for it (the other checks).
			fmt.Fprintf(stdout, "EXPECTED  %s: %s (the soak wiped its data and started it without --join)\n", v.Check, v.Detail)
			continue
		}
		if !v.Warning {
			failures++
		}
		fmt.Fprintf(stdout, "VIOLATION %s: %s\n", v.Check, v.Detail)
	}
	if failures > 0 {
		return exitFailed
	}
	return exitOK
}

// lostStorage reports whether a violation is a term going back on a node whose data the soak
// wiped before starting it without --join.
func (s *soak) lostStorage(v analyze.Violation) bool {
	if v.Check != analyze.CheckTermMonotonic {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.wipedNoJoin {
		if strings.HasPrefix(v.Detail, "node "+strconv.FormatUint(id, 10)+" went from term ") {
			return true
		}
	}
	return false
}
