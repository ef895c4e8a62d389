package balancer

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

func init() { Register("hash", BuilderFunc(buildHash)) }

// vnodesPerWeight is how many points a server of weight 1 gets on the ring.
// 160 is what ketama (and nginx's hash ... consistent) use: with ten servers
// the busiest gets within about 10 % of its fair share of keys.
const vnodesPerWeight = 160

// maxRing bounds the ring (16 bytes per point), whatever the weights.
const maxRing = 1 << 16

// buildHash is the "hash" strategy: consistent hashing on a ring with
// virtual nodes. A key always maps to the same server while the servers do
// not change, and adding or removing one server of N moves about 1/N of the
// keys. With BoundedLoad (Google's "consistent hashing with bounded loads"),
// a server with more than ceil(BoundedLoad × average) requests in flight is
// passed over for the next one on the ring.
func buildHash(servers []*Server, opts Options) (Picker, error) {
	if err := checkServers(servers); err != nil {
		return nil, err
	}
	key, err := parseHashKey(opts.Hash.Key)
	if err != nil {
		return nil, err
	}
	if f := opts.Hash.BoundedLoad; f != 0 && (f < 1 || math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil, fmt.Errorf("hash.boundedLoad %v: want a factor of at least 1 (such as 1.25), or 0 for no bound", f)
	}
	active := positive(servers)
	if len(active) == 0 {
		return noServer{}, nil
	}
	var weightSum int64
	for _, s := range active {
		weightSum += int64(s.Weight)
	}
	per := float64(vnodesPerWeight)
	if float64(weightSum)*per > maxRing {
		per = maxRing / float64(weightSum)
	}
	p := &hashRing{servers: active, key: key, bound: opts.Hash.BoundedLoad}
	for i, s := range active {
		n := max(int(float64(s.Weight)*per), 1)
		for v := range n {
			// A point depends only on the server's URL and its index,
			// never on the other servers: that is what keeps the other
			// servers' points, and so their keys, in place when a server
			// is added or removed.
			p.points = append(p.points, ringPoint{hash: hashString(s.URL + "#" + strconv.Itoa(v)), server: int32(i)})
		}
	}
	sort.Slice(p.points, func(a, b int) bool { return p.points[a].hash < p.points[b].hash })
	return p, nil
}

type ringPoint struct {
	hash   uint64
	server int32
}

type hashRing struct {
	servers []*Server
	points  []ringPoint
	key     hashKey
	bound   float64
}

// Pick maps the request's key onto the ring.
func (p *hashRing) Pick(r *http.Request) (PickResult, error) { return p.pickExcept(r, nil) }

// pickExcept walks the ring clockwise from the key's point to the first
// server that is usable and, with a bound, below its capacity.
func (p *hashRing) pickExcept(r *http.Request, skip *Server) (PickResult, error) {
	var c clock
	h := p.key.hash(r)
	n := len(p.points)
	i := sort.Search(n, func(k int) bool { return p.points[k].hash >= h })
	limit := int64(math.MaxInt64)
	if p.bound > 0 {
		var total int64
		for _, s := range p.servers {
			total += s.InFlight()
		}
		// The request being placed counts, so that an idle service
		// still has room for one request per server.
		limit = int64(math.Ceil(p.bound * float64(total+1) / float64(len(p.servers))))
	}
	sawFull := false
	// visited stops the walk once every server was seen; on a ring of
	// many points that is far sooner than walking every point.
	var visited uint64
	seen := 0
	for k := 0; k < n && seen < len(p.servers); k++ {
		pt := p.points[(i+k)%n]
		if pt.server < 64 {
			bit := uint64(1) << pt.server
			if visited&bit != 0 {
				continue
			}
			visited |= bit
			seen++
		}
		s := p.servers[pt.server]
		if s == skip || !s.available(&c) {
			continue
		}
		if s.InFlight() >= limit {
			continue
		}
		if s.acquire() {
			return PickResult{Server: s}, nil
		}
		sawFull = true
	}
	return PickResult{}, outcome(sawFull || limit != math.MaxInt64)
}

func (p *hashRing) serverList() []*Server { return p.servers }

// hashKey says which part of the request is hashed.
type hashKey struct {
	kind string // "clientip", "uri", "header", "cookie", "query"
	name string
}

func parseHashKey(s string) (hashKey, error) {
	kind, name, _ := strings.Cut(strings.TrimSpace(s), ":")
	kind = strings.ToLower(kind)
	switch kind {
	case "":
		return hashKey{kind: "clientip"}, nil
	case "clientip", "uri":
		if name != "" {
			return hashKey{}, fmt.Errorf("hash.key %q: %s takes no name", s, kind)
		}
		return hashKey{kind: kind}, nil
	case "header", "cookie", "query":
		if name == "" {
			return hashKey{}, fmt.Errorf("hash.key %q: want %s:<name>", s, kind)
		}
		if kind == "header" {
			name = http.CanonicalHeaderKey(name)
		}
		return hashKey{kind: kind, name: name}, nil
	}
	return hashKey{}, fmt.Errorf("hash.key %q: want clientip, uri, header:<Name>, cookie:<name> or query:<param>", s)
}

// hash returns the request's key hashed. A request without the key (no such
// header, cookie or parameter) hashes the empty string, so all of them go
// to one server rather than being spread at random.
//
// clientip is X-Real-Ip when present, else the peer address: the entrypoint
// deletes an X-Real-Ip sent by an untrusted client and sets it from the
// connection, and keeps it only from a peer in forwardedHeaders.trustedIPs,
// so it is the real client behind trusted proxies and cannot be forged by
// anyone else.
func (k hashKey) hash(r *http.Request) uint64 {
	switch k.kind {
	case "clientip":
		if v := r.Header["X-Real-Ip"]; len(v) > 0 && v[0] != "" {
			return hashString(v[0])
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		return hashString(host)
	case "uri":
		return hashString(r.RequestURI)
	case "header":
		if v := r.Header[k.name]; len(v) > 0 {
			return hashString(v[0])
		}
	case "cookie":
		if c, err := r.Cookie(k.name); err == nil {
			return hashString(c.Value)
		}
	case "query":
		return hashString(queryValue(r.URL.RawQuery, k.name))
	}
	return hashString("")
}

// queryValue returns the first raw value of name in a query string without
// parsing the whole query into a map.
func queryValue(q, name string) string {
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(part, "=")
		if k == name {
			return v
		}
	}
	return ""
}

// hashString is 64-bit FNV-1a finished with the splitmix64 mixer. FNV alone
// is fast and allocation-free but its high bits change little between
// similar inputs ("srv#1", "srv#2"), which would bunch ring points; the mixer
// spreads them. It is deterministic, so every berth replica builds the same
// ring and maps a key to the same server.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

var (
	_ Picker   = (*hashRing)(nil)
	_ excepter = (*hashRing)(nil)
)
