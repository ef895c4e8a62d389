package balancer

import "net/http"

func init() { Register("leastconn", BuilderFunc(buildLeastConn)) }

// buildLeastConn is the "leastconn" strategy: the server with the fewest
// requests in flight relative to its weight, as HAProxy's leastconn and
// nginx's least_conn. In-flight counts live in each server's Load, shared by
// every table, so a reload does not make a busy server look idle.
func buildLeastConn(servers []*Server, opts Options) (Picker, error) {
	if err := checkServers(servers); err != nil {
		return nil, err
	}
	active := positive(servers)
	if len(active) == 0 {
		return noServer{}, nil
	}
	return &leastConn{servers: active, state: opts.state()}, nil
}

// positive returns the servers with a weight above zero.
func positive(servers []*Server) []*Server {
	var out []*Server
	for _, s := range servers {
		if s.Weight > 0 {
			out = append(out, s)
		}
	}
	return out
}

// leastConn scans every server per pick: O(servers), which for the tens of
// servers a service has is cheaper than keeping a heap consistent with
// counters that other tables also change.
type leastConn struct {
	servers []*Server
	state   *State
}

// Pick returns the least loaded usable server.
func (p *leastConn) Pick(r *http.Request) (PickResult, error) { return p.pickExcept(r, nil) }

// pickExcept compares (in flight + 1) / weight, HAProxy's measure: the +1
// counts the request being placed, so that with nothing in flight a heavier
// server still wins. The scan starts at a rotating position and keeps the
// first minimum, so ties go round the servers instead of always to the
// first one. The chosen server is acquired only if its count is still the
// one the scan saw; otherwise a concurrent pick got there first and the
// scan runs again, which keeps the counts within one of each other under
// concurrency. After a few lost races the pick settles for a plain
// acquire, so that a pick never spins under heavy contention.
func (p *leastConn) pickExcept(_ *http.Request, skip *Server) (PickResult, error) {
	var c clock
	n := len(p.servers)
	sawFull := false
	for try := range 8 {
		start := int(p.state.next.Add(1) % uint64(n))
		var best *Server
		var bestScore float64
		var bestSeen int64
		for i := range n {
			s := p.servers[(start+i)%n]
			if s == skip || !s.available(&c) {
				continue
			}
			if s.full() {
				sawFull = true
				continue
			}
			seen := s.InFlight()
			score := float64(seen+1) / s.effWeight(&c)
			if best == nil || score < bestScore {
				best, bestScore, bestSeen = s, score, seen
			}
		}
		if best == nil {
			return PickResult{}, outcome(sawFull)
		}
		if best.acquireAt(bestSeen) || (try == 7 && best.acquire()) {
			return PickResult{Server: best}, nil
		}
	}
	return PickResult{}, ErrFull
}

func (p *leastConn) serverList() []*Server { return p.servers }

var (
	_ Picker   = (*leastConn)(nil)
	_ excepter = (*leastConn)(nil)
)
