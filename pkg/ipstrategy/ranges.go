package ipstrategy

import (
	"fmt"
	"net/netip"
	"strings"
)

// Ranges is a set of IPs and CIDR blocks, as written in sourceRange or
// excludedIPs. The zero value and nil contain nothing.
type Ranges struct {
	prefixes []netip.Prefix
}

// ParseRanges reads IPs ("192.0.2.7", "2001:db8::1") and CIDR blocks
// ("10.0.0.0/8"). Host bits in a CIDR are ignored ("10.1.2.3/8" is
// 10.0.0.0/8), as in Traefik. An error starts with the index of the bad
// entry, "[2]: ...", so that callers can prefix the option's name.
func ParseRanges(list []string) (*Ranges, error) {
	r := &Ranges{prefixes: make([]netip.Prefix, 0, len(list))}
	for i, s := range list {
		p, err := parsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("[%d]: %q is not an IP or a CIDR block such as \"192.0.2.0/24\"", i, s)
		}
		r.prefixes = append(r.prefixes, p)
	}
	return r, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		ip = canonical(ip)
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	// An IPv4-mapped block ("::ffff:10.0.0.0/104") is the IPv4 block it
	// maps, since client addresses are compared unmapped.
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Contains reports whether ip is in one of the ranges. ip should be
// canonical (as Strategy.ClientIP returns it); a mapped or zoned address is
// canonicalised here too, for callers that did not.
//
// It scans the list: sourceRange lists are short (tens of entries), and a
// scan of netip.Prefix values is a few nanoseconds per entry.
func (r *Ranges) Contains(ip netip.Addr) bool {
	if r == nil || !ip.IsValid() {
		return false
	}
	ip = canonical(ip)
	for _, p := range r.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Len is the number of entries.
func (r *Ranges) Len() int {
	if r == nil {
		return 0
	}
	return len(r.prefixes)
}
