// Package ipstrategy decides which client a request comes from, the way
// Traefik's ipStrategy and sourceCriterion options do, for the middlewares
// that act on it (ipAllowList, rateLimit, inFlightReq).
//
// By default the client is the request's RemoteAddr. berth's entrypoint has
// already replaced it with the address a PROXY protocol header announced,
// and forwarding headers from untrusted peers have been stripped, so
// RemoteAddr is the right answer unless berth sits behind other proxies
// that only report the client in X-Forwarded-For. For that case depth picks
// the Nth address from the right of X-Forwarded-For, and excludedIPs skips,
// from the right, the addresses of known proxies.
package ipstrategy

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Options is Traefik's ipStrategy block.
type Options struct {
	// Depth selects the Depth-th address of X-Forwarded-For, counted
	// from the right (1 is the last one). 0 means unset. When it is set,
	// ExcludedIPs is not used, as in Traefik.
	Depth int `json:"depth"`
	// ExcludedIPs are IPs or CIDRs of proxies: the client is the first
	// address of X-Forwarded-For, from the right, that is not in them.
	ExcludedIPs []string `json:"excludedIPs"`
	// IPv6Subnet, when set (1 to 128), turns an IPv6 client address into
	// the first address of its /IPv6Subnet network, so that a client
	// that owns a whole prefix counts as one client. IPv4 addresses are
	// unchanged. 0 means unset.
	IPv6Subnet int `json:"ipv6Subnet"`
}

// ValidateAt checks the options; path is where they were written
// ("ipStrategy", "sourceCriterion.ipStrategy") and prefixes every message.
func (o *Options) ValidateAt(path string) error {
	if o == nil {
		return nil
	}
	var errs []error
	if o.Depth < 0 {
		errs = append(errs, fmt.Errorf("%s.depth: %d is negative; want 0 (unset) or the position in X-Forwarded-For counted from the right, e.g. 1", path, o.Depth))
	}
	if o.IPv6Subnet < 0 || o.IPv6Subnet > 128 {
		errs = append(errs, fmt.Errorf("%s.ipv6Subnet: %d is not a prefix length; want 1 to 128, e.g. 64", path, o.IPv6Subnet))
	}
	if _, err := ParseRanges(o.ExcludedIPs); err != nil {
		errs = append(errs, fmt.Errorf("%s.excludedIPs%v", path, err))
	}
	return errors.Join(errs...)
}

// Validate checks the options as written under "ipStrategy".
func (o *Options) Validate() error { return o.ValidateAt("ipStrategy") }

// Ignored names an option that is set but has no effect, or returns "".
// Traefik documents that depth wins over excludedIPs; berth follows it
// and lets the caller warn, since a silently ignored option is a trap.
func (o *Options) Ignored() string {
	if o != nil && o.Depth > 0 && len(o.ExcludedIPs) > 0 {
		return "excludedIPs (depth is set, and takes precedence)"
	}
	return ""
}

// Strategy finds the client IP of a request. It is immutable and safe for
// concurrent use.
type Strategy struct {
	depth    int
	excluded *Ranges // nil unless the excludedIPs strategy is used
	v6bits   int     // 0: addresses are not truncated
}

// New compiles o; nil o means the RemoteAddr strategy.
func New(o *Options) (*Strategy, error) {
	if o == nil {
		return &Strategy{}, nil
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := &Strategy{depth: o.Depth, v6bits: o.IPv6Subnet}
	if o.Depth == 0 && len(o.ExcludedIPs) > 0 {
		s.excluded, _ = ParseRanges(o.ExcludedIPs) // checked by Validate
	}
	return s, nil
}

// ClientIP returns the client address of r, without a zone and with an
// IPv4-mapped IPv6 address turned into IPv4, so that it compares equal to
// the same address written either way. ok is false when the strategy finds
// no usable address: X-Forwarded-For is missing, shorter than depth, or
// holds only excluded addresses, or the chosen entry is not an IP. Callers
// treat that as Traefik treats its empty client IP.
func (s *Strategy) ClientIP(r *http.Request) (ip netip.Addr, ok bool) {
	switch {
	case s.depth > 0:
		ip, ok = s.byDepth(r.Header["X-Forwarded-For"])
	case s.excluded != nil:
		ip, ok = s.firstNotExcluded(r.Header["X-Forwarded-For"])
	default:
		ip, ok = parseRemoteAddr(r.RemoteAddr)
	}
	if ok && s.v6bits > 0 && ip.Is6() {
		// Prefix cannot fail: v6bits is 1..128 and ip is IPv6.
		p, _ := ip.Prefix(s.v6bits)
		ip = p.Addr()
	}
	return ip, ok
}

// byDepth returns the depth-th entry from the right of X-Forwarded-For.
// Empty entries count, as in Traefik, so "a,,b" has three.
func (s *Strategy) byDepth(xff []string) (netip.Addr, bool) {
	n := 0
	var found netip.Addr
	var ok bool
	walkRight(xff, func(entry string) bool {
		n++
		if n < s.depth {
			return true
		}
		found, ok = parseEntry(entry)
		return false
	})
	return found, ok
}

// firstNotExcluded returns the first entry from the right of
// X-Forwarded-For that is not an excluded proxy. Empty entries are skipped;
// an entry that is not an IP cannot be a known proxy, so it is the answer
// (and then not usable), as in Traefik.
func (s *Strategy) firstNotExcluded(xff []string) (netip.Addr, bool) {
	var found netip.Addr
	var ok bool
	walkRight(xff, func(entry string) bool {
		if entry == "" {
			return true
		}
		ip, parsed := parseEntry(entry)
		if parsed && s.excluded.Contains(ip) {
			return true
		}
		found, ok = ip, parsed
		return false
	})
	return found, ok
}

// walkRight calls fn with each comma-separated entry of the header lines
// in values, trimmed, from the rightmost to the leftmost, until fn returns
// false. Several header lines are one list (RFC 9110, section 5.3): a proxy
// may add its own line rather than extend the last one, and the rightmost
// entries, the ones trusted proxies wrote, must be read first whatever the
// client sent. (Traefik reads only the first line.) It does not allocate.
func walkRight(values []string, fn func(entry string) bool) {
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			j := strings.LastIndexByte(v, ',')
			if !fn(strings.TrimSpace(v[j+1:])) {
				return
			}
			if j < 0 {
				break
			}
			v = v[:j]
		}
	}
}

// parseEntry reads an X-Forwarded-For entry: an IP, possibly with a port
// ("192.0.2.1:8080", "[2001:db8::1]:8080") or in brackets.
func parseEntry(s string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return canonical(ip), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return canonical(ap.Addr()), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if ip, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return canonical(ip), true
		}
	}
	return netip.Addr{}, false
}

// parseRemoteAddr reads http.Request.RemoteAddr, normally "ip:port" but a
// bare IP when set by tests or other front ends.
func parseRemoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return canonical(ap.Addr()), true
	}
	return parseEntry(s)
}

// canonical drops the zone and unmaps IPv4-mapped IPv6 addresses, so that
// "::ffff:192.0.2.1" matches a rule written as "192.0.2.1".
func canonical(ip netip.Addr) netip.Addr { return ip.Unmap().WithZone("") }
