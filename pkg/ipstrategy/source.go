package ipstrategy

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// SourceCriterion is Traefik's sourceCriterion block: what groups requests
// as coming from one source, for rateLimit and inFlightReq. At most one of
// its options may be set; with none, the source is the client IP found by
// the default (RemoteAddr) strategy, as in Traefik.
type SourceCriterion struct {
	// IPStrategy groups requests by client IP.
	IPStrategy *Options `json:"ipStrategy"`
	// RequestHeaderName groups requests by the value of this header;
	// requests without it form one source.
	RequestHeaderName string `json:"requestHeaderName"`
	// RequestHost groups requests by their Host.
	RequestHost bool `json:"requestHost"`
}

// ValidateAt checks the criterion; path is where it was written
// ("sourceCriterion") and prefixes every message.
func (c *SourceCriterion) ValidateAt(path string) error {
	if c == nil {
		return nil
	}
	var set []string
	if c.IPStrategy != nil {
		set = append(set, "ipStrategy")
	}
	if c.RequestHeaderName != "" {
		set = append(set, "requestHeaderName")
	}
	if c.RequestHost {
		set = append(set, "requestHost")
	}
	var errs []error
	if len(set) > 1 {
		errs = append(errs, fmt.Errorf("%s: %s are mutually exclusive; set only one", path, strings.Join(set, " and ")))
	}
	if c.RequestHeaderName != "" && !httpguts.ValidHeaderFieldName(c.RequestHeaderName) {
		errs = append(errs, fmt.Errorf("%s.requestHeaderName: %q is not a valid header name", path, c.RequestHeaderName))
	}
	if err := c.IPStrategy.ValidateAt(path + ".ipStrategy"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate checks the criterion as written under "sourceCriterion".
func (c *SourceCriterion) Validate() error { return c.ValidateAt("sourceCriterion") }

// Extractor returns the source key of a request. Keys are at most
// MaxKeyLen bytes long, whatever the client sends.
type Extractor func(r *http.Request) string

// MaxKeyLen bounds a source key: longer header values are replaced by a
// digest, so that a store of one entry per source costs a bounded amount
// of memory per entry however long the headers a client sends.
const MaxKeyLen = 64

// NoIP is the key of every request whose IP strategy found no usable
// address (Traefik uses the empty string for them, too): they share one
// source, so that a client cannot get a fresh one per garbage entry.
const NoIP = ""

// NewExtractor compiles c; nil or empty c means the client IP by the
// RemoteAddr strategy.
func NewExtractor(c *SourceCriterion) (Extractor, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch {
	case c != nil && c.RequestHeaderName != "":
		name := http.CanonicalHeaderKey(c.RequestHeaderName)
		return func(r *http.Request) string {
			// The first value, as Traefik's header.Get; a missing
			// header is the empty key, one source for all of them.
			if v := r.Header[name]; len(v) > 0 {
				return boundKey(v[0])
			}
			return ""
		}, nil
	case c != nil && c.RequestHost:
		return func(r *http.Request) string {
			// Host names are case-insensitive: lower-case them so that
			// "EXAMPLE.com" is not a second source of "example.com".
			return boundKey(strings.ToLower(r.Host))
		}, nil
	}
	var o *Options
	if c != nil {
		o = c.IPStrategy
	}
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	return func(r *http.Request) string {
		ip, ok := s.ClientIP(r)
		if !ok {
			return NoIP
		}
		// Canonical text, so that "2001:DB8::1" and "2001:db8:0::1" are
		// one source.
		return ip.String()
	}, nil
}

// boundKey returns s, or a digest of it when it is longer than MaxKeyLen.
// A digest starts with a NUL byte, which no header value or host contains,
// so it cannot equal a short key.
func boundKey(s string) string {
	if len(s) <= MaxKeyLen {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "\x00" + string(sum[:])
}
