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

// Pick returns the next server of the cycle.
func (p *wrr) Pick(*http.Request) (PickResult, error) {
	if len(p.cycle) == 1 {
		return PickResult{Server: p.cycle[0]}, nil
	}
	n := p.state.next.Add(1) - 1
	return PickResult{Server: p.cycle[n%uint64(len(p.cycle))]}, nil
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
func (p *smoothWRR) Pick(*http.Request) (PickResult, error) {
	st := p.state
	st.mu.Lock()
	// A State handed over from a different server list cannot be
	// continued; start that rotation over.
	if len(st.current) != len(p.weights) {
		st.current = make([]int64, len(p.weights))
	}
	i := smoothStep(st.current, p.weights, p.total)
	st.mu.Unlock()
	return PickResult{Server: p.servers[i]}, nil
}

var (
	_ Picker = (*wrr)(nil)
	_ Picker = (*smoothWRR)(nil)
)
