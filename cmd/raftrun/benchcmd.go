package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/raftviz/raftviz/raft/cluster"
)

const benchUsage = `usage: raftrun bench [flags]

Measures the Raft core: a cluster in this process over loopback TCP, every node writing its
log with fsync, clients writing values as fast as they are acknowledged. Prints committed
writes/s and commit latency, then crashes the leader repeatedly and prints the time until a
new leader serves a write.

  raftrun bench -c 64 -d 10s
  raftrun bench -c 1 -d 10s --failovers 100

Flags:
`

func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("raftrun bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	nodes := fs.Int("n", 3, "number of `nodes`")
	clients := fs.Int("c", 64, "concurrent `clients`")
	dur := fs.Duration("d", 5*time.Second, "how long to write")
	value := fs.Int("value", 64, "value size in `bytes`")
	failovers := fs.Int("failovers", 10, "leader crashes to time after the load (0: none)")
	election := fs.Duration("election-timeout", 150*time.Millisecond, "minimum election `timeout`")
	heartbeat := fs.Duration("heartbeat", 50*time.Millisecond, "heartbeat `interval`")
	tickFlag := fs.Duration("tick", raftTick, "Raft tick `interval` (timeouts are whole ticks)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load phase to `file`")
	dataDir := fs.String("data", "", "`directory` for the write-ahead logs (default: a temporary one; put it on the disk to measure)")
	if code, ok := parseFlagsOnly(fs, args, benchUsage, "", stdout, stderr); !ok {
		return code
	}
	tick := *tickFlag
	switch {
	case *nodes < 1 || *nodes > 15:
		fmt.Fprintf(stderr, "raftrun bench: -n %d out of range (1 to 15)\n", *nodes)
		return exitUsage
	case *clients < 1 || *dur <= 0 || *value < 1 || *failovers < 0:
		fmt.Fprintln(stderr, "raftrun bench: -c, -d and --value must be positive, --failovers not negative")
		return exitUsage
	case *heartbeat < tick || *election < 2**heartbeat:
		fmt.Fprintf(stderr, "raftrun bench: need heartbeat >= %v and election timeout >= 2 x heartbeat\n", tick)
		return exitUsage
	case *failovers > 0 && *nodes < 3:
		fmt.Fprintf(stderr, "raftrun bench: --failovers needs -n 3 at least: without its leader, a cluster of %d has no majority (--failovers 0 measures writes only)\n", *nodes)
		return exitUsage
	}
	dir := *dataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "raftrun-bench-"); err != nil {
			fmt.Fprintf(stderr, "raftrun bench: %v\n", err)
			return exitUsage
		}
		defer os.RemoveAll(dir)
	}
	c, err := cluster.Start(cluster.Options{Nodes: *nodes, TCP: true, Dir: dir, TickInterval: tick,
		ElectionTick: int(*election / tick), HeartbeatTick: int(*heartbeat / tick)})
	if err != nil {
		fmt.Fprintf(stderr, "raftrun bench: %v\n", err)
		return exitFailed
	}
	defer c.Close()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "raftrun bench: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "raftrun bench: %v\n", err)
			return exitUsage
		}
	}
	res, err := c.Load(ctx, cluster.LoadOptions{Clients: *clients, Duration: *dur, Value: *value})
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintf(stderr, "raftrun bench: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%d nodes, TCP loopback, fsync on, %d clients, %d-byte values, %v\n", *nodes, *clients, *value, res.Duration.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  committed writes/s  %.0f  (%d writes, %d errors)\n", res.Throughput(), res.Writes, res.Errors)
	fmt.Fprintf(stdout, "  commit latency      p50 %v  p99 %v  max %v\n", roundLat(res.Percentile(50)), roundLat(res.Percentile(99)), roundLat(res.Percentile(100)))
	if *failovers > 0 && ctx.Err() == nil {
		times, err := c.Failover(ctx, *failovers)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "raftrun bench: failover: %v\n", err)
			return exitFailed
		}
		if len(times) > 0 {
			pick := func(p float64) time.Duration {
				return times[min(len(times)-1, max(0, int(float64(len(times))*p/100+0.5)-1))]
			}
			fmt.Fprintf(stdout, "  leader crash to next write (%d crashes, election timeout %v-%v)\n", len(times), *election, 2**election)
			fmt.Fprintf(stdout, "                      p50 %v  p99 %v  max %v\n", roundLat(pick(50)), roundLat(pick(99)), roundLat(pick(100)))
		}
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitOK
}

func roundLat(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(10 * time.Microsecond)
}
