package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LoadOptions describes a write load.
type LoadOptions struct {
	Clients  int           // concurrent clients (default 1)
	Duration time.Duration // how long to write (default 5s)
	Value    int           // bytes per value (default 64)
}

// LoadResult is what a load run measured.
type LoadResult struct {
	Writes   int
	Duration time.Duration
	// Latencies of acknowledged writes, sorted.
	Latencies []time.Duration
	Errors    int
}

// Throughput returns acknowledged writes per second.
func (r LoadResult) Throughput() float64 { return float64(r.Writes) / r.Duration.Seconds() }

// Percentile returns the p-th percentile latency (0 < p <= 100).
func (r LoadResult) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// Load has clients submit "set" commands at the leader as fast as each gets answers, for the
// given duration. Clients run in this process and call the leader node directly, so that the
// figures measure Raft (replication, fsync, apply), not a client protocol.
func (c *Cluster) Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	if o.Clients <= 0 {
		o.Clients = 1
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Value <= 0 {
		o.Value = 64
	}
	lead, err := c.Leader(ctx)
	if err != nil {
		return LoadResult{}, err
	}
	n := c.Node(lead)
	if n == nil {
		return LoadResult{}, errors.New("leader went down")
	}
	value := strings.Repeat("v", o.Value)
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var mu sync.Mutex
	var res LoadResult
	var wg sync.WaitGroup
	start := time.Now()
	for cl := 0; cl < o.Clients; cl++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			for i := 0; ctx.Err() == nil; i++ {
				cmd := []byte("set c" + strconv.Itoa(cl) + "-" + strconv.Itoa(i%1024) + " " + value)
				t0 := time.Now()
				if _, err := n.Submit(ctx, cmd); err != nil {
					if ctx.Err() == nil {
						errs++
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.Latencies = append(res.Latencies, lat...)
			res.Errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Duration = time.Since(start)
	res.Writes = len(res.Latencies)
	slices.Sort(res.Latencies)
	return res, nil
}

// failoverWait bounds the wait for a new leader after a crash: one that never comes is an
// error, not a hang.
const failoverWait = 30 * time.Second

// Failover crashes the leader and measures the time until a write succeeds through a new
// one; then it restarts the old leader and waits until the cluster agrees again. It returns
// the measured times, sorted. It needs three nodes at least: the others must be a majority.
func (c *Cluster) Failover(ctx context.Context, rounds int) ([]time.Duration, error) {
	if n := len(c.peers); n < 3 {
		return nil, fmt.Errorf("a failover needs 3 nodes at least: without its leader, a cluster of %d has no majority", n)
	}
	var times []time.Duration
	for i := 0; i < rounds; i++ {
		lead, err := c.Leader(ctx)
		if err != nil {
			return times, err
		}
		// Let the leader settle a moment, so each round starts from a steady cluster with
		// heartbeats flowing, as a real crash would find it.
		time.Sleep(20 * time.Millisecond)
		if err := c.Crash(lead); err != nil {
			return times, err
		}
		t0 := time.Now()
		for {
			if ctx.Err() != nil {
				return times, ctx.Err()
			}
			if time.Since(t0) > failoverWait {
				return times, fmt.Errorf("no new leader took a write within %v of node %d's crash", failoverWait, lead)
			}
			l, ok := c.agreedLeader()
			if ok && l != lead {
				n := c.Node(l)
				wctx, cancel := context.WithTimeout(ctx, time.Second)
				_, err := n.Submit(wctx, []byte("set failover "+strconv.Itoa(i)))
				cancel()
				if err == nil {
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		times = append(times, time.Since(t0))
		if err := c.Restart(lead); err != nil {
			return times, fmt.Errorf("restart %d: %w", lead, err)
		}
	}
	slices.Sort(times)
	return times, nil
}
