package forwardauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/middleware"
)

// DefaultMaxBodySize bounds the request body read when forwardBody is on.
// Traefik's default is -1 (no limit); berth buffers the whole body in
// memory to send it twice, so an unbounded default would let any client
// make the proxy allocate as much as it cares to upload. 1 MiB is plenty
// for what auth servers inspect (signed webhooks, small JSON payloads);
// set maxBodySize: -1 explicitly to get Traefik's behaviour.
const DefaultMaxBodySize = 1 << 20

// Timeouts of the auth client. The total matches Traefik's 30 s; the
// others make a dead or overloaded auth server fail fast instead of
// holding every request for the full 30 s at the dial.
const (
	clientTimeout       = 30 * time.Second
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	idleConnTimeout     = 90 * time.Second
)

// Spec is the options of a forwardAuth middleware, named as in Traefik.
type Spec struct {
	// Address is the auth server's URL (http or https), asked about every
	// request.
	Address string `json:"address"`
	// TrustForwardHeader sends the request's own X-Forwarded-* values to
	// the auth server instead of ones computed from the request. The
	// entrypoint has already removed them unless the peer is trusted
	// (forwardedHeaders.trustedIPs), so this is safe to turn on behind a
	// trusted proxy.
	TrustForwardHeader bool `json:"trustForwardHeader"`
	// AuthResponseHeaders are copied from a successful auth response onto
	// the forwarded request, replacing whatever the client sent under
	// those names.
	AuthResponseHeaders []string `json:"authResponseHeaders"`
	// AuthResponseHeadersRegex selects more headers to copy the same way;
	// the request's headers matching it are removed first.
	AuthResponseHeadersRegex string `json:"authResponseHeadersRegex"`
	// AuthRequestHeaders, when set, are the only request headers sent to
	// the auth server (the X-Forwarded-* ones are always sent).
	AuthRequestHeaders []string `json:"authRequestHeaders"`
	// AddAuthCookiesToResponse names cookies that the auth server sets on
	// a successful response and that are passed on to the client with the
	// backend's response, replacing the backend's cookies of those names.
	AddAuthCookiesToResponse []string `json:"addAuthCookiesToResponse"`
	// TLS configures the connection to an https auth server.
	TLS *TLS `json:"tls"`
	// HeaderField is the auth response header holding the user name, which
	// Traefik writes in the access log's ClientUsername.
	HeaderField string `json:"headerField"`
	// ForwardBody sends the request body to the auth server as well.
	ForwardBody bool `json:"forwardBody"`
	// MaxBodySize bounds the body read when ForwardBody is on, in bytes; a
	// larger body is refused with 401 as in Traefik. -1 means no limit.
	MaxBodySize int64 `json:"maxBodySize"`
	// PreserveLocationHeader passes a relative Location from a refusing
	// auth server on as it is, instead of making it absolute against
	// Address.
	PreserveLocationHeader bool `json:"preserveLocationHeader"`
	// PreserveRequestMethod asks the auth server with the request's method
	// instead of GET.
	PreserveRequestMethod bool `json:"preserveRequestMethod"`
}

// TLS is the client TLS configuration used to reach the auth server. CA,
// Cert and Key are file paths, or PEM content written inline, as Traefik
// accepts both.
type TLS struct {
	// CA verifies the auth server's certificate instead of the system
	// roots.
	CA string `json:"ca"`
	// Cert and Key are a client certificate, for auth servers that require
	// one.
	Cert string `json:"cert"`
	Key  string `json:"key"`
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool `json:"insecureSkipVerify"`
	// CAOptional is deprecated in Traefik and has no effect there either;
	// it is accepted so that existing configurations keep loading.
	CAOptional bool `json:"caOptional"`
}

// Validate checks every option it can without reading files; the TLS files
// are read by Build.
func (s *Spec) Validate() error {
	var errs []error
	if err := validateAddress(s.Address); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, validateHeaderNames("authResponseHeaders", s.AuthResponseHeaders)...)
	errs = append(errs, validateHeaderNames("authRequestHeaders", s.AuthRequestHeaders)...)
	if s.AuthResponseHeadersRegex != "" {
		if _, err := regexp.Compile(s.AuthResponseHeadersRegex); err != nil {
			errs = append(errs, fmt.Errorf("authResponseHeadersRegex: %w", err))
		}
	}
	for i, c := range s.AddAuthCookiesToResponse {
		if !isToken(c) {
			errs = append(errs, fmt.Errorf("addAuthCookiesToResponse[%d]: %q is not a valid cookie name", i, c))
		}
	}
	if s.HeaderField != "" && !isToken(s.HeaderField) {
		errs = append(errs, fmt.Errorf("headerField: %q is not a valid header name", s.HeaderField))
	}
	if s.MaxBodySize < -1 {
		errs = append(errs, fmt.Errorf("maxBodySize: %d is invalid; want a number of bytes, or -1 for no limit", s.MaxBodySize))
	}
	if t := s.TLS; t != nil {
		if (t.Cert == "") != (t.Key == "") {
			which := "tls.key"
			if t.Cert == "" {
				which = "tls.cert"
			}
			errs = append(errs, fmt.Errorf("%s: required when the other half of the client certificate (tls.cert, tls.key) is set", which))
		}
	}
	return errors.Join(errs...)
}

func validateAddress(address string) error {
	if address == "" {
		return errors.New(`address: required: the auth server's URL, e.g. "http://auth:9091/api/verify"`)
	}
	u, err := url.Parse(address)
	if err != nil {
		return fmt.Errorf("address: %q is not a URL: %w", address, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("address: %q must start with http:// or https://", address)
	}
	if u.Host == "" {
		return fmt.Errorf("address: %q has no host", address)
	}
	return nil
}

func validateHeaderNames(option string, names []string) []error {
	var errs []error
	for i, n := range names {
		if !isToken(n) {
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not a valid header name", option, i, n))
		}
	}
	return errs
}

// isToken reports whether s is an RFC 9110 token, the syntax of both header
// and cookie names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Factory builds forwardAuth middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "forwardAuth" }

// NewSpec returns options with berth's bounded body size (see
// DefaultMaxBodySize).
func (Factory) NewSpec() middleware.Spec { return &Spec{MaxBodySize: DefaultMaxBodySize} }

// Build compiles the regexp, reads the TLS files and makes the middleware's
// own HTTP client.
func (f Factory) Build(ctx middleware.BuildContext, name string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("%s: got options of type %T, want *forwardauth.Spec", f.Type(), spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	log := ctx.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("middleware", name))

	h := &handler{
		next:                   next,
		log:                    log,
		address:                s.Address,
		trustForwardHeader:     s.TrustForwardHeader,
		forwardBody:            s.ForwardBody,
		maxBodySize:            s.MaxBodySize,
		preserveLocationHeader: s.PreserveLocationHeader,
		preserveRequestMethod:  s.PreserveRequestMethod,
	}
	for _, n := range s.AuthResponseHeaders {
		h.responseHeaders = append(h.responseHeaders, http.CanonicalHeaderKey(n))
	}
	for _, n := range s.AuthRequestHeaders {
		h.requestHeaders = append(h.requestHeaders, http.CanonicalHeaderKey(n))
	}
	if s.AuthResponseHeadersRegex != "" {
		h.responseHeadersRegex = regexp.MustCompile(s.AuthResponseHeadersRegex) // checked by Validate
	}
	if len(s.AddAuthCookiesToResponse) > 0 {
		h.cookies = make(map[string]bool, len(s.AddAuthCookiesToResponse))
		for _, c := range s.AddAuthCookiesToResponse {
			h.cookies[c] = true
		}
	}

	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment, // as Traefik's client, which starts from http.DefaultTransport
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   100, // every request asks the same host: keep many connections warm
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ExpectContinueTimeout: time.Second,
		// Asking for gzip would make the transport decompress a refusal
		// and drop its Content-Encoding and Content-Length; the client
		// gets what the auth server sent instead, with the client's own
		// Accept-Encoding.
		DisableCompression: true,
	}
	if s.TLS != nil {
		cfg, err := clientTLS(s.TLS)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
		if s.TLS.CAOptional {
			log.Warn("forwardAuth option tls.caOptional is deprecated and has no effect; remove it")
		}
		if strings.HasPrefix(s.Address, "http://") {
			log.Warn("forwardAuth tls options have no effect on an http:// address")
		}
	}
	h.client = &http.Client{
		Transport: tr,
		Timeout:   clientTimeout,
		// The auth server's redirects (typically to a login page) are
		// answers for the client, not for berth to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	if s.HeaderField != "" {
		log.Warn("forwardAuth option headerField has no effect yet: berth's access log does not record the user it names",
			zap.String("option", "headerField"))
	}
	if s.ForwardBody && s.MaxBodySize < 0 {
		log.Warn("forwardAuth maxBodySize is -1: request bodies of any size are buffered in memory to be sent to the auth server")
	}
	return h, nil
}

// clientTLS builds the TLS configuration for the auth client.
func clientTLS(t *TLS) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // the user's explicit choice
	if t.CA != "" {
		pem, err := readPEM(t.CA)
		if err != nil {
			return nil, fmt.Errorf("tls.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca: %s holds no PEM certificate", describe(t.CA))
		}
		cfg.RootCAs = pool
	}
	if t.Cert != "" {
		certPEM, err := readPEM(t.Cert)
		if err != nil {
			return nil, fmt.Errorf("tls.cert: %w", err)
		}
		keyPEM, err := readPEM(t.Key)
		if err != nil {
			return nil, fmt.Errorf("tls.key: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls.cert, tls.key: %s and %s are not a matching certificate and key: %w", describe(t.Cert), describe(t.Key), err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// readPEM returns v itself when it is inline PEM, else the file it names.
func readPEM(v string) ([]byte, error) {
	if strings.Contains(v, "-----BEGIN") {
		return []byte(v), nil
	}
	return os.ReadFile(v)
}

// describe names a PEM value in errors without printing inline key
// material.
func describe(v string) string {
	if strings.Contains(v, "-----BEGIN") {
		return "the inline PEM"
	}
	return fmt.Sprintf("%q", v)
}

var (
	_ middleware.Factory = Factory{}
	_ middleware.Spec    = (*Spec)(nil)
)
