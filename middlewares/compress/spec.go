package compress

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/berthproxy/berth/pkg/middleware"
)

// defaultMinResponseBodyBytes is Traefik's default threshold: below about
// 1 KiB the compressed form, with its header and trailer, saves too little
// to be worth the CPU, and can even be larger than the original.
const defaultMinResponseBodyBytes = 1024

// defaultEncodings is Traefik v3's default list, in its order: at equal
// q-values the client's preference is broken by this order, so gzip, which
// every client decodes, wins over br and zstd unless the client ranks them
// higher.
var defaultEncodings = []string{"gzip", "br", "zstd"}

// Spec is the options of a compress middleware, named as in Traefik.
type Spec struct {
	// ExcludedContentTypes are media types whose responses are never
	// compressed. They are also compared with the request's Content-Type,
	// as in Traefik. A type without parameters matches the type with any
	// parameters; one with parameters matches only those exact
	// parameters. "text/*" matches every text type (berth's addition).
	ExcludedContentTypes []string `json:"excludedContentTypes"`
	// IncludedContentTypes, when set, are the only media types whose
	// responses are compressed. Mutually exclusive with
	// ExcludedContentTypes.
	IncludedContentTypes []string `json:"includedContentTypes"`
	// MinResponseBodyBytes is the smallest body that is compressed. 0
	// means the default, 1024, as in Traefik.
	MinResponseBodyBytes int `json:"minResponseBodyBytes"`
	// Encodings are the content codings offered, highest priority first:
	// "gzip", "br" and "zstd".
	Encodings []string `json:"encodings"`
	// DefaultEncoding is used when the request has no Accept-Encoding
	// header at all, and wins ties that the client's "*" creates. Empty
	// means that a request without Accept-Encoding is not compressed.
	DefaultEncoding string `json:"defaultEncoding"`
}

// Validate checks every option so that a typo shows up when the
// configuration is loaded rather than as responses that are silently left
// uncompressed.
func (s *Spec) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if len(s.ExcludedContentTypes) > 0 && len(s.IncludedContentTypes) > 0 {
		add("excludedContentTypes and includedContentTypes are mutually exclusive; set only one of them")
	}
	for _, v := range s.ExcludedContentTypes {
		if _, err := parsePattern(v); err != nil {
			add("excludedContentTypes: %v", err)
		}
	}
	for _, v := range s.IncludedContentTypes {
		if _, err := parsePattern(v); err != nil {
			add("includedContentTypes: %v", err)
		}
	}
	if s.MinResponseBodyBytes < 0 {
		add("minResponseBodyBytes: %d is negative; give a number of bytes (0 means the default, %d)",
			s.MinResponseBodyBytes, defaultMinResponseBodyBytes)
	}
	if len(s.Encodings) == 0 {
		add(`encodings: at least one encoding is required, e.g. ["gzip", "br", "zstd"]`)
	}
	for _, e := range s.Encodings {
		if coderByName(e) == nil {
			add("encodings: %q is not supported; use gzip, br or zstd", e)
		}
	}
	if s.DefaultEncoding != "" {
		switch c := coderByName(s.DefaultEncoding); {
		case c == nil:
			add("defaultEncoding: %q is not supported; use gzip, br or zstd", s.DefaultEncoding)
		case !s.offers(c):
			add("defaultEncoding: %q is not one of the encodings %v", s.DefaultEncoding, s.Encodings)
		}
	}
	return errors.Join(errs...)
}

// offers reports whether c is among the configured encodings.
func (s *Spec) offers(c *coder) bool {
	for _, e := range s.Encodings {
		if coderByName(e) == c {
			return true
		}
	}
	return false
}

// Factory builds compress middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "compress" }

// NewSpec returns Traefik's defaults: `compress: {}` (or the label
// `compress=true`) is a complete configuration.
func (Factory) NewSpec() middleware.Spec {
	return &Spec{
		MinResponseBodyBytes: defaultMinResponseBodyBytes,
		Encodings:            append([]string(nil), defaultEncodings...),
	}
}

// Build parses the content types once, so that a response only compares
// short strings.
func (Factory) Build(_ middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("compress: got options of type %T, want *compress.Spec", spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	h := &handler{next: next, minSize: s.MinResponseBodyBytes}
	if h.minSize == 0 {
		h.minSize = defaultMinResponseBodyBytes
	}
	for _, e := range s.Encodings {
		c := coderByName(e)
		// A name listed twice keeps its first (higher) priority; Traefik
		// accepts duplicates, so refusing them would break its
		// configurations.
		dup := false
		for _, have := range h.coders {
			dup = dup || have == c
		}
		if !dup {
			h.coders = append(h.coders, c)
		}
	}
	if s.DefaultEncoding != "" {
		h.defaultCoder = coderByName(s.DefaultEncoding)
	}
	for _, v := range s.ExcludedContentTypes {
		p, _ := parsePattern(v) // checked by Validate
		h.excluded = append(h.excluded, p)
	}
	for _, v := range s.IncludedContentTypes {
		p, _ := parsePattern(v)
		h.included = append(h.included, p)
	}
	return h, nil
}

// coderByName finds a supported coding by its configured name, ignoring
// case and surrounding spaces (a label such as "gzip, br" leaves them).
func coderByName(name string) *coder {
	name = strings.TrimSpace(name)
	for _, c := range coders {
		if strings.EqualFold(name, c.name) {
			return c
		}
	}
	return nil
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
