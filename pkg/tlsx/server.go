package tlsx

import (
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/berthproxy/berth/pkg/config"
)

// maxCachedOptions bounds the compiled-option cache of one Store
// generation, in case an options callback returns a new pointer per call.
const maxCachedOptions = 1024

// ServerConfig returns the *tls.Config of TLS entrypoints. Every handshake
// reads the current Store through current (typically an atomic pointer load
// of the routing table), so swapping tables changes certificates without a
// new listener. current may return nil: only the generated default
// certificate is served then.
//
// options, when not nil, gives the TLS options for a server name (lower
// case, no trailing dot; "" when the client sent no SNI), or nil for the
// defaults: TLS 1.2 minimum, ECDHE AEAD cipher suites only, ALPN h2 and
// http/1.1. It must return the same pointer for the same option for as long
// as the Store does not change, because compiled options are cached by
// pointer for each Store; an invalid option fails the handshake.
//
// opts add certificate sources beyond the Store, such as ACME (see
// WithCertificates and WithTLSALPN).
func ServerConfig(current func() *Store, options func(serverName string) *config.TLSOption, opts ...Option) *tls.Config {
	srv := &server{current: current, options: options}
	for _, o := range opts {
		o(srv)
	}
	cfg := srv.build(settings{minVersion: tls.VersionTLS12, cipherSuites: defaultCipherSuites, alpn: defaultALPN})
	if options != nil || srv.alpnChallenge != nil {
		cfg.GetConfigForClient = srv.configForClient
	}
	return cfg
}

// server is the state behind one ServerConfig.
type server struct {
	current func() *Store
	options func(serverName string) *config.TLSOption
	cache   atomic.Pointer[optionCache]
	// extra and alpnChallenge are set by options (acme.go).
	extra         func(*tls.ClientHelloInfo) *tls.Certificate
	alpnChallenge func(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// optionCache holds the configs compiled for the options of one Store
// generation; it is replaced when the Store changes so that options of
// old routing tables do not pile up.
type optionCache struct {
	store *Store
	m     sync.Map // *config.TLSOption → compiled
	n     atomic.Int32
}

type compiled struct {
	cfg *tls.Config
	err error
}

func (s *server) store() *Store {
	if st := s.current(); st != nil {
		return st
	}
	return emptyStore
}

// build makes the *tls.Config for parsed settings.
func (s *server) build(set settings) *tls.Config {
	cfg := &tls.Config{
		MinVersion:   set.minVersion,
		MaxVersion:   set.maxVersion,
		CipherSuites: set.cipherSuites,
		NextProtos:   set.alpn,
	}
	switch {
	case s.extra != nil:
		strict := set.sniStrict
		cfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return s.certificate(h, strict) }
	case set.sniStrict:
		cfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return s.store().strictCertificate(h) }
	default:
		cfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return s.store().GetCertificate(h) }
	}
	return cfg
}

// configForClient applies the server name's TLS option, if any. Returning
// nil keeps the base config.
func (s *server) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if s.alpnChallenge != nil && isACMEChallenge(hello) {
		return s.challengeConfig(hello)
	}
	if s.options == nil {
		return nil, nil
	}
	opt := s.options(normalize(hello.ServerName))
	if opt == nil {
		return nil, nil
	}
	st := s.store()
	c := s.cache.Load()
	if c == nil || c.store != st {
		fresh := &optionCache{store: st}
		if s.cache.CompareAndSwap(c, fresh) {
			c = fresh
		} else {
			c = s.cache.Load()
		}
	}
	if v, ok := c.m.Load(opt); ok {
		r := v.(*compiled)
		return r.cfg, r.err
	}
	r := s.compile(opt)
	if c.n.Add(1) <= maxCachedOptions {
		c.m.Store(opt, r)
	}
	return r.cfg, r.err
}

func (s *server) compile(opt *config.TLSOption) *compiled {
	set, probs := parseOption(opt)
	if len(probs) > 0 {
		return &compiled{err: fmt.Errorf("invalid TLS option: %s", probs[0])}
	}
	return &compiled{cfg: s.build(set)}
}
