package server

import (
	"net"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/berthproxy/berth/pkg/config"
)

// proxyProtocolListener wraps ln so that connections from the trusted load
// balancers may start with a PROXY protocol header (v1 or v2), whose client
// address then becomes the connection's RemoteAddr: forwarded headers,
// ClientIP rules, hashing by client IP and the access log all see the real
// client. As in Traefik, the header is optional from trusted peers, and a
// header from anyone else is read and ignored (its address is not used).
//
// github.com/pires/go-proxyproto parses the header; it is what Traefik uses,
// handles both versions and their TLVs, and is fuzzed upstream.
//
// Closing ln on error is the caller's job; the returned listener closes ln.
func proxyProtocolListener(ln net.Listener, pp *config.ProxyProtocol, headerTimeout time.Duration) (net.Listener, error) {
	pl := &proxyproto.Listener{Listener: ln, ReadHeaderTimeout: headerTimeout}
	if headerTimeout <= 0 {
		pl.ReadHeaderTimeout = -1 // none: the entrypoint has no read timeouts either
	}
	if pp.Insecure {
		pl.ConnPolicy = func(proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) { return proxyproto.USE, nil }
		return pl, nil
	}
	policy, err := proxyproto.PolicyFromRanges(pp.TrustedIPs, proxyproto.USE, proxyproto.IGNORE)
	if err != nil {
		return ln, err
	}
	pl.ConnPolicy = policy
	return pl, nil
}
