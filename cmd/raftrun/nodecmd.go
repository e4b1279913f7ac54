package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raftviz/raftviz/parse/eventline"
	"github.com/raftviz/raftviz/raft"
	"github.com/raftviz/raftviz/raft/kv"
	"github.com/raftviz/raftviz/raft/node"
	"github.com/raftviz/raftviz/raft/storage"
	"github.com/raftviz/raftviz/raft/transport"
)

const nodeUsage = `usage: raftrun node --id N --listen HOST:PORT --peers ID=HOST:PORT,... --data DIR [flags]

Runs one Raft node as its own process, so that a cluster can span processes and machines.
Clients (raftrun client) connect to the same address. Its event lines go to --log (default
stderr); raftviz merges the logs of several nodes by time.

  raftrun node --id 1 --listen 127.0.0.1:7001 --peers 2=127.0.0.1:7002,3=127.0.0.1:7003 --data n1 --log n1.log

Flags:
`

// parsePeers reads "2=host:port,3=host:port".
func parsePeers(s string) (map[uint64]string, error) {
	peers := map[uint64]string{}
	if strings.TrimSpace(s) == "" {
		return peers, nil
	}
	for _, p := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(p), "=")
		n, err := strconv.ParseUint(id, 10, 64)
		if !ok || err != nil || n == 0 || addr == "" {
			return nil, fmt.Errorf("bad peer %q (want ID=HOST:PORT, ids from 1)", p)
		}
		if _, dup := peers[n]; dup {
			return nil, fmt.Errorf("peer %d listed twice", n)
		}
		peers[n] = addr
	}
	return peers, nil
}

func nodeCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftrun node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.Uint64("id", 0, "this node's `id` (from 1)")
	listen := fs.String("listen", "", "`address` to listen on for peers and clients")
	peersFlag := fs.String("peers", "", "the other nodes: `ID=HOST:PORT,...`")
	data := fs.String("data", "", "`directory` of the node's write-ahead log")
	clusterID := fs.Uint64("cluster-id", 1, "cluster `id`; traffic from other clusters is refused")
	logPath := fs.String("log", "", "append event lines to `file` (default stderr)")
	preVote := fs.Bool("prevote", true, "pre-vote: a node that rejoins does not disrupt the leader (false: the classic behaviour)")
	checkQuorum := fs.Bool("check-quorum", true, "a leader that cannot hear a majority steps down")
	snapEvery := fs.Int("snapshot-every", 10000, "snapshot the state machine and compact the log every `n` applied entries (0: never)")
	snapMB := fs.Int("snapshot-mb", 64, "snapshot and compact too once the commands applied since the last snapshot hold `n` MiB (0: by --snapshot-every only)")
	jsonOut := fs.Bool("json", false, "write the JSON-lines form of the events (full dates, for merging machines)")
	election := fs.Duration("election-timeout", 300*time.Millisecond, "minimum election `timeout`")
	heartbeat := fs.Duration("heartbeat", 100*time.Millisecond, "heartbeat `interval`")
	slow := fs.Duration("slow-rpc", 0, "warn (a slow event) when an RPC round trip exceeds `d`")
	join := fs.Bool("join", false, "join a running cluster as a new server: start as a learner (then: raftrun client --peers ... add ID)")
	advertise := fs.String("advertise", "", "`address` other nodes dial to reach this one (default: --listen)")
	keyPath := fs.String("cluster-key", "", "the cluster key `file` (raftrun key): peers and clients must prove they hold the same key; a one-node cluster's first start writes a new one there")
	if code, ok := parseFlagsOnly(fs, args, nodeUsage, "", stdout, stderr); !ok {
		return code
	}
	peers, err := parsePeers(*peersFlag)
	switch {
	case *snapEvery < 0:
		fmt.Fprintf(stderr, "raftrun node: --snapshot-every must be 0 (never) or more, not %d\n", *snapEvery)
		return exitUsage
	case *snapMB < 0:
		fmt.Fprintf(stderr, "raftrun node: --snapshot-mb must be 0 (by count only) or more, not %d\n", *snapMB)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "raftrun node: %v\n", err)
		return exitUsage
	case *id == 0 || *listen == "" || *data == "":
		fmt.Fprintln(stderr, "raftrun node: --id, --listen and --data are required (raftrun node -h)")
		return exitUsage
	case peers[*id] != "":
		fmt.Fprintf(stderr, "raftrun node: --peers lists this node's own id %d\n", *id)
		return exitUsage
	}
	key, keyNote, err := nodeKey(*keyPath, *data, *join || len(peers) > 0)
	if err != nil {
		fmt.Fprintf(stderr, "raftrun node: %v\n", err)
		return exitUsage
	}
	tick := raftTick
	if *heartbeat < tick || *election < 2**heartbeat {
		fmt.Fprintf(stderr, "raftrun node: need heartbeat >= %v and election timeout >= 2 x heartbeat\n", tick)
		return exitUsage
	}
	// Bind first: a node that cannot listen must not have created or locked its data directory.
	adv := *advertise
	if adv == "" {
		adv = *listen
	}
	// A peer that refuses this node (it knew another copy of its data) ends it: running on would
	// only be ignored, and the operator must remove the node and add it again.
	refused := make(chan string, 1)
	onRefused := func(peer uint64, reason string) {
		select {
		case refused <- fmt.Sprintf("node %d refuses this node: %s", peer, reason):
		default:
		}
	}
	tcp, err := transport.ListenTCP(transport.TCPConfig{ID: *id, ClusterID: *clusterID, Listen: *listen, Advertise: adv,
		Announce: *join, AwaitIdentity: true, Peers: peers, OnRefused: onRefused, Key: key})
	if err != nil {
		fmt.Fprintf(stderr, "raftrun node: %v\n", err)
		return exitUsage
	}
	var logw io.Writer = stderr
	var lw *lockedWriter
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			tcp.Close()
			fmt.Fprintf(stderr, "raftrun node: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		lw = &lockedWriter{w: bufio.NewWriter(f)}
		defer func() {
			lw.mu.Lock()
			lw.w.Flush()
			lw.mu.Unlock()
		}()
		logw = lw
	}
	var h slog.Handler = eventline.NewTextHandler(logw, nil)
	if *jsonOut {
		h = eventline.NewJSONHandler(logw, nil)
	}
	tcp.SetHandler(h)
	store, err := storage.OpenWAL(*data)
	if err != nil {
		tcp.Close()
		var ce *storage.CorruptError
		if errors.As(err, &ce) {
			raft.NewTracer(h, raft.ID(*id), nil).EmitStateless(eventline.KindCorrupt, "storage is corrupt, refusing to start: "+ce.Reason,
				slog.Int64("offset", ce.Offset), slog.String("action", "fatal"))
		}
		fmt.Fprintf(stderr, "raftrun node: %v\n", err)
		return exitFailed
	}
	// The data's incarnation travels in every hello; the peers' are checked against the book.
	inc, err := storage.Incarnation(*data)
	var book *storage.PeerBook
	if err == nil {
		book, err = storage.OpenPeerBook(*data)
	}
	if err != nil {
		tcp.Close()
		store.Close()
		fmt.Fprintf(stderr, "raftrun node: %v\n", err)
		return exitFailed
	}
	// A new cluster's first start writes its configuration (this node and --peers) into the
	// log; every later start takes it from there, so the flags give only addresses. A joining
	// node has none: it learns the configuration from the leader, once it is added.
	var ids []uint64
	if !*join {
		ids = append(ids, *id)
		for p := range peers {
			ids = append(ids, p)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	}
	n, err := node.Start(node.Config{ID: *id, Peers: ids, Bootstrap: !*join, Storage: store, Sender: tcp, StateMachine: kv.New(), TickInterval: tick,
		ElectionTick: int(*election / tick), HeartbeatTick: int(*heartbeat / tick), Handler: h, SlowRPC: *slow,
		PreVote: *preVote, CheckQuorum: *checkQuorum, SnapshotEvery: *snapEvery, SnapshotBytes: int64(*snapMB) << 20})
	if err != nil {
		tcp.Close()
		store.Close()
		fmt.Fprintf(stderr, "raftrun node: %v\n", err)
		return exitFailed
	}
	if lw != nil && lw.Err() != nil {
		// Its first event lines are lost already: a node whose log nobody can read is not
		// what was asked for.
		tcp.Close()
		n.Stop()
		fmt.Fprintf(stderr, "raftrun node: cannot write event lines to %s: %v\n", *logPath, lw.Err())
		return exitFailed
	}
	ident := newIdentities(*id, inc, book, n.Status, func(ctx context.Context, cc raft.ConfChange) error {
		_, err := n.ChangeConf(ctx, cc)
		return err
	})
	tcp.SetIdentity(inc, ident.admit)
	recordCtx, stopRecording := context.WithCancel(ctx)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		ident.record(recordCtx)
	}()
	defer func() {
		stopRecording()
		<-recorded
	}()
	tcp.ServeClients(func(ctx context.Context, cmd []byte) transport.Reply {
		return answer(ctx, n, tcp.PeerTrouble, cmd)
	})
	tcp.Serve(n)
	if keyNote != "" {
		fmt.Fprintln(stdout, keyNote)
	}
	fmt.Fprintf(stdout, "node %d listening on %s\n", *id, tcp.Addr())
	var refusal string
	select {
	case <-ctx.Done():
	case <-n.Done():
	case refusal = <-refused:
	}
	if refusal != "" {
		tcp.Close()
		n.Stop()
		fmt.Fprintf(stderr, "raftrun node: %s\n", refusal)
		return exitFailed
	}
	tcp.Close()
	if err := n.Stop(); err != nil {
		fmt.Fprintf(stderr, "raftrun node: %v\n", err)
		return exitFailed
	}
	if ctx.Err() != nil {
		return exitOK // asked to stop
	}
	return exitFailed
}

// nodeKey reads the cluster key of --cluster-key. A cluster that starts as one node (no data
// yet, no --join, no --peers) writes a new key when the file does not exist; where others are
// involved (joining, bootstrapping with peers, a node with data) the key must be there already:
// keys made on several machines at once would split the cluster. No path: no key.
func nodeKey(path, data string, others bool) (key []byte, note string, err error) {
	if path == "" {
		return nil, "", nil
	}
	key, err = transport.ReadKeyFile(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		if err != nil {
			err = fmt.Errorf("--cluster-key: %w", err)
		}
		return key, "", err
	}
	entries, derr := os.ReadDir(data)
	switch {
	case others:
		return nil, "", fmt.Errorf("--cluster-key %s: no such file: make one with raftrun key %s and copy it to every server and client of the cluster", path, path)
	case derr == nil && len(entries) > 0:
		return nil, "", fmt.Errorf("--cluster-key %s: no such file, and %s holds a node's data already: copy the cluster's key there", path, data)
	}
	if key, err = transport.WriteKeyFile(path); err != nil {
		return nil, "", fmt.Errorf("--cluster-key: %w", err)
	}
	return key, "wrote a new cluster key to " + path + ": copy it to the servers that join and to clients (--cluster-key)", nil
}

const keyUsage = `usage: raftrun key FILE

Writes a new random cluster key to FILE (readable by its owner only; an existing file is never
replaced). Copy it to every server (raftrun node --cluster-key FILE) and client (raftrun
client --cluster-key FILE): a connection that cannot prove it holds the key is refused before
anything but its hello is read.
`

func keyCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftrun key", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if code, ok := parseCommandFlags(fs, args, keyUsage, "", stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, "raftrun key: want one FILE (raftrun key -h)\n")
		return exitUsage
	}
	if _, err := transport.WriteKeyFile(fs.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "raftrun key: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "wrote a new cluster key to %s\n", fs.Arg(0))
	return exitOK
}

// identities checks peers' incarnations (the identity of their data directories) and, on the
// leader, records the members' incarnations in the configuration (raft.ConfIdentity), so that
// every member, also one that joins later, refuses a voter that comes back with its data wiped.
// Only a voter with other data is refused (it may have forgotten a vote): a server that was
// removed and added again after losing its data is a learner until it caught up, and whether
// its first hello reaches this node before or after the learner is added is a matter of timing.
type identities struct {
	self   uint64
	inc    uint64 // this node's incarnation
	book   *storage.PeerBook
	status func() raft.Status
	change func(context.Context, raft.ConfChange) error // proposes and waits for the commit
	mu     sync.Mutex
	seen   map[uint64]uint64 // the incarnation of each peer's last admitted hello
}

func newIdentities(self, inc uint64, book *storage.PeerBook, status func() raft.Status,
	change func(context.Context, raft.ConfChange) error) *identities {
	return &identities{self: self, inc: inc, book: book, status: status, change: change, seen: map[uint64]uint64{}}
}

// admit is the transport's check of a peer's hello: a voter whose incarnation differs from the
// one the configuration records, or from the one this node's PeerBook holds, lost its state.
func (ids *identities) admit(peer, inc uint64) error {
	st := ids.status()
	voter := slices.Contains(st.Voters, peer)
	if rec, ok := st.Incarnations[peer]; ok && voter && inc != 0 && rec != inc {
		return storage.LostState(peer)
	}
	if err := ids.book.Check(peer, inc, voter); err != nil {
		return err
	}
	if inc != 0 {
		ids.mu.Lock()
		ids.seen[peer] = inc
		ids.mu.Unlock()
	}
	return nil
}

// recordEvery is how often the leader looks for members whose incarnation the configuration
// does not record yet.
const recordEvery = 200 * time.Millisecond

// record runs until ctx ends: while this node leads, it records the incarnation of every member
// it knows of and the configuration lacks (its own, and the others' from their hellos), and a
// learner's new one (a server added again after its data was wiped). A voter's recorded
// incarnation is never replaced.
func (ids *identities) record(ctx context.Context) {
	tick := time.NewTicker(recordEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ids.recordMissing(ctx)
	}
}

// recordMissing is one round of record.
func (ids *identities) recordMissing(ctx context.Context) {
	st := ids.status()
	if st.Role != raft.Leader {
		return
	}
	ids.mu.Lock()
	known := maps.Clone(ids.seen)
	ids.mu.Unlock()
	known[ids.self] = ids.inc
	for _, peer := range slices.Sorted(maps.Keys(known)) {
		inc := known[peer]
		voter, learner := slices.Contains(st.Voters, peer), slices.Contains(st.Learners, peer)
		rec, ok := st.Incarnations[peer]
		if !voter && !learner || ok && (rec == inc || voter) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := ids.change(cctx, raft.ConfChange{Type: raft.ConfIdentity, Node: peer, Incarnation: inc})
		cancel()
		if err != nil {
			return // not the leader any more, or busy: the next round tries again
		}
	}
}

// answer runs a client's command on the node: a key-value command, or a membership change
// ("conf add_learner 4", "conf promote 4", "conf remove 4").
func answer(ctx context.Context, n *node.Node, trouble func(uint64) string, cmd []byte) transport.Reply {
	if rest, ok := strings.CutPrefix(string(cmd), "conf "); ok {
		return answerConf(ctx, n, trouble, rest)
	}
	kc, err := kv.Parse(string(cmd))
	if err != nil {
		return transport.Reply{Status: transport.ReplyRefused, Text: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := n.Submit(ctx, kc.Encode())
	if err != nil {
		return errorReply(err)
	}
	kr, _ := res.Value.(kv.Result) // the node's state machine is a kv.Store
	text := replyText(res.Index, kr)
	if kc.Op == kv.OpRegister {
		text = "session=" + kr.Value + " " + text
	}
	if kc.Op == kv.OpGet {
		if kr.Found {
			text = "value=" + kr.Value + " " + text
		} else {
			text = "not_found " + text
		}
	}
	return transport.Reply{Status: transport.ReplyOK, Leader: n.ID(), Text: text}
}

// replyText is a command's answer after its value: its index, and for a retry of a command
// already applied, where it was ("index=9, duplicate of index 7").
func replyText(index uint64, kr kv.Result) string {
	text := fmt.Sprintf("index=%d", index)
	switch {
	case kr.Duplicate && kr.First != 0:
		text += fmt.Sprintf(", duplicate of index %d", kr.First)
	case kr.Duplicate:
		text += ", duplicate"
	}
	return text
}

// errorReply turns a failed Submit into a reply that keeps the error's meaning: a redirect to
// the leader; a refusal that no retry can change (already a member, not a member); or an error
// worth retrying (a transfer or membership change under way, leadership lost, a timeout).
func errorReply(err error) transport.Reply {
	var nl *node.NotLeaderError
	switch {
	case errors.As(err, &nl):
		return transport.Reply{Status: transport.ReplyNotLeader, Leader: nl.Leader}
	case errors.Is(err, raft.ErrRefused), errors.Is(err, kv.ErrUnknownSession), errors.Is(err, kv.ErrBadCommand), errors.Is(err, raft.ErrTooLarge),
		errors.Is(err, kv.ErrSeqReused):
		return transport.Reply{Status: transport.ReplyRefused, Text: err.Error()}
	}
	return transport.Reply{Status: transport.ReplyError, Text: err.Error()}
}

// answerConf runs a membership change; trouble says why a peer takes none of this node's
// connections (transport.TCP.PeerTrouble), for a learner that can never catch up.
func answerConf(ctx context.Context, n *node.Node, trouble func(uint64) string, text string) transport.Reply {
	action, idText, _ := strings.Cut(strings.TrimSpace(text), " ")
	id, err := strconv.ParseUint(idText, 10, 64)
	var cc raft.ConfChange
	switch action {
	case "add_learner":
		cc.Type = raft.ConfAddLearner
	case "promote":
		cc.Type = raft.ConfPromote
	case "remove":
		cc.Type = raft.ConfRemove
	default:
		err = fmt.Errorf("unknown membership change %q (add_learner, promote, remove)", action)
	}
	if err != nil || id == 0 {
		return transport.Reply{Status: transport.ReplyRefused, Text: fmt.Sprintf("bad membership change %q", text)}
	}
	cc.Node = id
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	idx, err := n.ChangeConf(ctx, cc)
	if errors.Is(err, raft.ErrLearnerBehind) {
		if why := trouble(id); why != "" {
			return transport.Reply{Status: transport.ReplyRefused,
				Text: fmt.Sprintf("node %d cannot catch up: %s", id, why)}
		}
	}
	if err != nil {
		return errorReply(err)
	}
	return transport.Reply{Status: transport.ReplyOK, Leader: n.ID(), Text: fmt.Sprintf("%s %d index=%d", action, id, idx)}
}

const clientUsage = `usage: raftrun client --peers ID=HOST:PORT,... COMMAND

Sends one command (set KEY VALUE, get KEY, del KEY) to a cluster of raftrun nodes, following
redirects to the leader and retrying until --timeout. Membership: "add ID" adds a node started
with raftrun node --join (as a learner, promoted once it has caught up), "remove ID" removes one.

  raftrun client --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 set x 1
  raftrun client --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 add 4

Flags:
`

func clientCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftrun client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	peersFlag := fs.String("peers", "", "the cluster's nodes: `ID=HOST:PORT,...`")
	clusterID := fs.Uint64("cluster-id", 1, "cluster `id`")
	keyPath := fs.String("cluster-key", "", "the cluster key `file` (of a cluster whose nodes run with --cluster-key)")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after `d`")
	if code, ok := parseCommandFlags(fs, args, clientUsage, "", stdout, stderr); !ok {
		return code
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "raftrun client: --timeout must be positive, not %v\n", *timeout)
		return exitUsage
	}
	peers, err := parsePeers(*peersFlag)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "raftrun client: --peers: %v\n", err)
		return exitUsage
	case len(peers) == 0:
		fmt.Fprintln(stderr, "raftrun client: --peers is required: ID=HOST:PORT,...")
		return exitUsage
	}
	auth := clusterAuth{id: *clusterID}
	if *keyPath != "" {
		if auth.key, err = transport.ReadKeyFile(*keyPath); err != nil {
			fmt.Fprintf(stderr, "raftrun client: --cluster-key: %v\n", err)
			return exitUsage
		}
	}
	if args := fs.Args(); len(args) > 0 && (args[0] == "add" || args[0] == "remove") {
		return clientConf(ctx, peers, auth, *timeout, args, stdout, stderr)
	}
	kc, err := kv.Parse(strings.Join(fs.Args(), " "))
	if err != nil {
		fmt.Fprintf(stderr, "raftrun client: %v\n", err)
		return exitUsage
	}
	if kc.Client == "" && kc.Op != kv.OpRegister {
		// A session of its own, registered through the log (so no other client can hold the
		// same one), so that the retries below apply the command once.
		reply, _, err := Request(ctx, peers, auth, "register", *timeout)
		if err != nil {
			fmt.Fprintf(stderr, "raftrun client: opening a session: %v\n", err)
			return exitFailed
		}
		first, _, _ := strings.Cut(reply.Text, " ")
		name, ok := strings.CutPrefix(first, "session=")
		if !ok {
			fmt.Fprintf(stderr, "raftrun client: opening a session: unexpected answer %q\n", reply.Text)
			return exitFailed
		}
		kc.Client, kc.Seq = name, 1
	}
	cmd := string(kc.Encode())
	reply, by, err := Request(ctx, peers, auth, cmd, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "raftrun client: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s (node %d)\n", reply.Text, by)
	return exitOK
}

// clusterAuth is what a client names a cluster by: its id, and its key (nil when its nodes run
// without one).
type clusterAuth struct {
	id  uint64
	key []byte
}

// Request sends cmd to the cluster: it tries the nodes in id order, follows NotLeader replies
// to the named leader, and retries on errors until timeout. It returns the reply and the node
// that gave it.
func Request(ctx context.Context, peers map[uint64]string, auth clusterAuth, cmd string, timeout time.Duration) (transport.Reply, uint64, error) {
	ids := make([]uint64, 0, len(peers))
	for id := range peers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	deadline := time.Now().Add(timeout)
	var last error
	next := ids[0]
	redirects := 0
	for try := 0; time.Now().Before(deadline) && ctx.Err() == nil; try++ {
		target := next
		next = ids[(indexOf(ids, target)+1)%len(ids)]
		c, err := transport.DialClient(peers[target], auth.id, auth.key, time.Until(deadline))
		if err != nil {
			last = fmt.Errorf("node %d: %w", target, err)
			pause(ctx, try)
			continue
		}
		reply, err := c.Do(cmd)
		c.Close()
		switch {
		case err != nil:
			last = fmt.Errorf("node %d: %w", target, err)
		case reply.Status == transport.ReplyOK:
			return reply, target, nil
		case reply.Status == transport.ReplyRefused:
			return reply, target, fmt.Errorf("node %d refuses: %s", target, reply.Text)
		case reply.Status == transport.ReplyNotLeader:
			_, listed := peers[reply.Leader]
			switch {
			case reply.Leader == 0 || reply.Leader == target:
				last = fmt.Errorf("node %d is not the leader and knows none yet", target)
			case !listed: // a node that joined later
				last = fmt.Errorf("node %d is not the leader; node %d is, which --peers does not list", target, reply.Leader)
			default:
				last = fmt.Errorf("node %d is not the leader; node %d is", target, reply.Leader)
				next = reply.Leader
				if redirects++; redirects <= len(peers) {
					continue // redirect at once, a few times; then back off
				}
				redirects = 0
			}
		default:
			last = fmt.Errorf("node %d: %s", target, reply.Text)
		}
		pause(ctx, try)
	}
	if last == nil {
		last = ctx.Err()
	}
	if last == nil {
		return transport.Reply{}, 0, fmt.Errorf("no answer within %v: no node was tried", timeout)
	}
	return transport.Reply{}, 0, fmt.Errorf("no answer within %v: %w", timeout, last)
}

func indexOf(ids []uint64, id uint64) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return 0
}

// pause waits before the next try, exponentially longer (10 ms doubling to 1 s, with jitter so
// that many clients do not retry in step).
func pause(ctx context.Context, try int) {
	d := min(10*time.Millisecond<<min(try, 7), time.Second)
	d = d/2 + rand.N(d/2+1)
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// clientConf adds or removes a server: add is add_learner, then promote once the leader
// accepts it (it refuses while the learner is behind).
func clientConf(ctx context.Context, peers map[uint64]string, auth clusterAuth, timeout time.Duration, args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintf(stderr, "raftrun client: usage: %s ID\n", args[0])
		return exitUsage
	}
	id, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil || id == 0 {
		fmt.Fprintf(stderr, "raftrun client: bad node id %q\n", args[1])
		return exitUsage
	}
	steps := []string{"remove"}
	if args[0] == "add" {
		steps = []string{"add_learner", "promote"}
	}
	for _, step := range steps {
		reply, by, err := Request(ctx, peers, auth, "conf "+step+" "+args[1], timeout)
		if err != nil && step == "add_learner" && reply.Status == transport.ReplyRefused {
			// add resumes an add that stopped half way, and is done when it is done.
			switch {
			case strings.Contains(reply.Text, "already a learner"):
				fmt.Fprintf(stdout, "node %d is a learner already: promoting it (node %d)\n", id, by)
				continue
			case strings.Contains(reply.Text, "already a voter"):
				fmt.Fprintf(stdout, "node %d is already a voter (node %d)\n", id, by)
				return exitOK
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "raftrun client: %s %d: %v\n", step, id, err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "%s (node %d)\n", reply.Text, by)
	}
	return exitOK
}
