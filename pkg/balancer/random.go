package balancer

import (
	"math/rand/v2"
	"net/http"
	"sort"
)

func init() { Register("random", BuilderFunc(buildRandom)) }

// buildRandom is the "random" strategy: a server drawn at random in
// proportion to its weight.
func buildRandom(servers []*Server, _ Options) (Picker, error) {
	if err := checkServers(servers); err != nil {
		return nil, err
	}
	active := positive(servers)
	if len(active) == 0 {
		return noServer{}, nil
	}
	p := &random{servers: active, cum: make([]int64, len(active))}
	var total int64
	for i, s := range active {
		total += int64(s.Weight)
		p.cum[i] = total
	}
	return p, nil
}

// random keeps the cumulative weights, so a draw is one random number and a
// binary search.
type random struct {
	servers []*Server
	cum     []int64
}

// Pick draws a server by weight.
func (p *random) Pick(r *http.Request) (PickResult, error) { return p.pickExcept(r, nil) }

// pickExcept draws a server; when the drawn one is not usable it takes the
// next usable one after it, which keeps the choice random among the rest.
func (p *random) pickExcept(_ *http.Request, skip *Server) (PickResult, error) {
	var c clock
	n := len(p.servers)
	x := rand.Int64N(p.cum[n-1])
	i := sort.Search(n, func(k int) bool { return p.cum[k] > x })
	sawFull := false
	for k := range n {
		s := p.servers[(i+k)%n]
		if s == skip || !s.available(&c) {
			continue
		}
		if s.acquire() {
			return PickResult{Server: s}, nil
		}
		sawFull = true
	}
	return PickResult{}, outcome(sawFull)
}

func (p *random) serverList() []*Server { return p.servers }

var (
	_ Picker   = (*random)(nil)
	_ excepter = (*random)(nil)
)
