package balancer

import "net/http"

// maxCycle is the longest weighted-round-robin cycle (the sum of the weights
// after dividing them by their GCD) that Build precomputes. A precomputed
// cycle is a slice of that many server pointers walked with one atomic
// counter: lock-free and allocation-free per request. Past this length the
// table would cost too much memory per service (it grows with the weight sum,
// not the server count, and weights like 1000 and 999 make it ~2000× the
// number of servers) and too much time to build on every reload, so larger
// sums fall back to the classic smooth WRR under a mutex, which is O(servers)
// per pick and holds the lock only for that loop.
const maxCycle = 4096

func init() { Register("wrr", BuilderFunc(buildWRR)) }

// buildWRR is the "wrr" strategy: smooth weighted round robin, nginx's
// algorithm, which spreads a heavy server's turns across the cycle instead of
// sending them in a burst (weights a=5, b=1, c=1 give a a b a c a a).
func buildWRR(servers []*Server, opts Options) (Picker, error) {
	return newWRR(servers, opts.state(), maxCycle)
}

// newWRR builds a WRR picker, precomputing the cycle when its length is at
// most limit (a parameter so that tests can exercise both paths).
func newWRR(servers []*Server, st *State, limit int) (Picker, error) {
	if err := checkServers(servers); err != nil {
		return nil, err
	}
	var active []*Server
	var weights []int64
	for _, s := range servers {
		if s.Weight > 0 {
			active = append(active, s)
			weights = append(weights, int64(s.Weight))
		}
	}
	if len(active) == 0 {
		return noServer{}, nil
	}
	g := weights[0]
	for _, w := range weights[1:] {
		g = gcd(g, w)
	}
	var total int64
	for i := range weights {
		weights[i] /= g
		total += weights[i]
	}
	if total > int64(limit) {
		return &smoothWRR{servers: active, weights: weights, total: total, state: st}, nil
	}
	cycle := make([]*Server, total)
	current := make([]int64, len(active))
	for i := range cycle {
		cycle[i] = active[smoothStep(current, weights, total)]
	}
	return &wrr{cycle: cycle, state: st}, nil
}

// smoothStep is one step of nginx's smooth WRR: every server gains its
// weight, the one with the highest running weight (the first on ties) is
// chosen and loses the total. It returns the chosen index.
func smoothStep(current, weights []int64, total int64) int {
	best := 0
	for i, w := range weights {
		current[i] += w
		if current[i] > current[best] {
			best = i
		}
	}
	current[best] -= total
	return best
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// wrr walks a precomputed smooth-WRR cycle. The position is in the State, so
// a rebuilt picker for the same servers continues where the old one was.
type wrr struct {
	cycle []*Server
	state *State
}

// Pick returns the next usable server of the cycle.
func (p *wrr) Pick(r *http.Request) (PickResult, error) { return p.pickExcept(r, nil) }

// pickExcept walks the cycle from the next position and takes the first
// server that is available, not full and (in slow start) admitted. Skipping
// an unavailable server hands its turn to the next one in the cycle, so the
// remaining servers keep their relative weights.
func (p *wrr) pickExcept(_ *http.Request, skip *Server) (PickResult, error) {
	var c clock
	n := uint64(0)
	if len(p.cycle) > 1 {
		n = p.state.next.Add(1) - 1
	}
	size := uint64(len(p.cycle))
	var rampUp *Server
	sawFull := false
	for i := uint64(0); i < size; i++ {
		s := p.cycle[(n+i)%size]
		if s == skip || !s.available(&c) {
			continue
		}
		if !s.admit(&c) {
			rampUp = s
			continue
		}
		if s.acquire() {
			return PickResult{Server: s}, nil
		}
		sawFull = true
	}
	// Only servers in slow start were left and chance turned them all
	// down: one of them still takes the request rather than failing it.
	if rampUp != nil && rampUp.acquire() {
		return PickResult{Server: rampUp}, nil
	}
	return PickResult{}, outcome(sawFull || rampUp != nil)
}

// smoothWRR runs smooth WRR step by step, for cycles too long to precompute.
// Its running weights are in the State, guarded by the State's mutex.
type smoothWRR struct {
	servers []*Server
	weights []int64
	total   int64
	state   *State
}

// Pick runs one smooth-WRR step.
func (p *smoothWRR) Pick(r *http.Request) (PickResult, error) { return p.pickExcept(r, nil) }

// pickExcept runs one smooth-WRR step over the usable servers only, so an
// unavailable server neither takes turns nor accumulates credit.
func (p *smoothWRR) pickExcept(_ *http.Request, skip *Server) (PickResult, error) {
	var c clock
	sawFull := false
	for range 3 {
		st := p.state
		st.mu.Lock()
		// A State handed over from a different server list cannot be
		// continued; start that rotation over.
		if len(st.current) != len(p.weights) {
			st.current = make([]int64, len(p.weights))
		}
		best, total := -1, int64(0)
		for i, w := range p.weights {
			s := p.servers[i]
			if s == skip || !s.available(&c) {
				continue
			}
			if s.full() {
				sawFull = true
				continue
			}
			st.current[i] += w
			total += w
			if best < 0 || st.current[i] > st.current[best] {
				best = i
			}
		}
		if best >= 0 {
			st.current[best] -= total
		}
		st.mu.Unlock()
		if best < 0 {
			return PickResult{}, outcome(sawFull)
		}
		if s := p.servers[best]; s.acquire() {
			return PickResult{Server: s}, nil
		}
		// The server filled up between the scan and acquire; try again.
		sawFull = true
	}
	return PickResult{}, outcome(sawFull)
}

// servers returns the distinct servers of the cycle.
func (p *wrr) serverList() []*Server { return distinct(p.cycle) }

func (p *smoothWRR) serverList() []*Server { return p.servers }

var (
	_ Picker   = (*wrr)(nil)
	_ Picker   = (*smoothWRR)(nil)
	_ excepter = (*wrr)(nil)
	_ excepter = (*smoothWRR)(nil)
)
