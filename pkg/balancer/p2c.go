package balancer

import (
	"math/rand/v2"
	"net/http"
)

func init() { Register("p2c", BuilderFunc(buildP2C)) }

// buildP2C is the "p2c" strategy: the power of two random choices. Two
// servers are drawn at random and the less loaded (in flight / weight) takes
// the request. It needs no scan of every server, and, unlike leastconn, many
// balancers (or many tables) choosing at once do not all pile onto the same
// momentarily idle server.
func buildP2C(servers []*Server, opts Options) (Picker, error) {
	if err := checkServers(servers); err != nil {
		return nil, err
	}
	active := positive(servers)
	if len(active) == 0 {
		return noServer{}, nil
	}
	return &p2c{servers: active, fallback: &leastConn{servers: active, state: opts.state()}}, nil
}

type p2c struct {
	servers  []*Server
	fallback *leastConn
}

// Pick draws two servers and takes the less loaded one.
func (p *p2c) Pick(r *http.Request) (PickResult, error) { return p.pickExcept(r, nil) }

// pickExcept draws a few pairs; when draws keep landing on servers that are
// down or full (most of the service is out), it falls back to a full
// leastconn scan, which finds a usable server if there is one.
func (p *p2c) pickExcept(r *http.Request, skip *Server) (PickResult, error) {
	n := len(p.servers)
	if n == 1 {
		return p.fallback.pickExcept(r, skip)
	}
	var c clock
	for range 3 {
		i := rand.IntN(n)
		j := rand.IntN(n - 1)
		if j >= i {
			j++
		}
		a, b := p.servers[i], p.servers[j]
		ua := a != skip && a.usable(&c)
		ub := b != skip && b.usable(&c)
		var s *Server
		switch {
		case ua && ub:
			s = a
			if float64(b.InFlight()+1)/b.effWeight(&c) < float64(a.InFlight()+1)/a.effWeight(&c) {
				s = b
			}
		case ua:
			s = a
		case ub:
			s = b
		default:
			continue
		}
		if s.acquire() {
			return PickResult{Server: s}, nil
		}
	}
	return p.fallback.pickExcept(r, skip)
}

func (p *p2c) serverList() []*Server { return p.servers }

var (
	_ Picker   = (*p2c)(nil)
	_ excepter = (*p2c)(nil)
)
