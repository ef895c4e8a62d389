package headers

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of a headers middleware, named as in Traefik.
type Spec struct {
	// CustomRequestHeaders are set on the request; an empty value removes
	// the header. "Host" sets the request's host.
	CustomRequestHeaders map[string]string `json:"customRequestHeaders"`
	// CustomResponseHeaders are set on the response, overriding the
	// backend's; an empty value removes the header.
	CustomResponseHeaders map[string]string `json:"customResponseHeaders"`

	AccessControlAllowCredentials bool     `json:"accessControlAllowCredentials"`
	AccessControlAllowHeaders     []string `json:"accessControlAllowHeaders"`
	AccessControlAllowMethods     []string `json:"accessControlAllowMethods"`
	// AccessControlAllowOriginList lists the allowed origins exactly
	// ("https://example.com"); "*" allows any origin.
	AccessControlAllowOriginList []string `json:"accessControlAllowOriginList"`
	// AccessControlAllowOriginListRegex are regular expressions matched
	// anywhere in the origin, as in Traefik: anchor them ("^...$") unless
	// a partial match is really meant.
	AccessControlAllowOriginListRegex []string `json:"accessControlAllowOriginListRegex"`
	AccessControlExposeHeaders        []string `json:"accessControlExposeHeaders"`
	// AccessControlMaxAge is how many seconds a preflight may be cached.
	AccessControlMaxAge int64 `json:"accessControlMaxAge"`
	// AddVaryHeader adds "Vary: Origin" to responses, needed when the
	// allowed origin is echoed back and responses are cached.
	AddVaryHeader bool `json:"addVaryHeader"`

	// AllowedHosts, when set, answers 400 to requests for other hosts.
	AllowedHosts []string `json:"allowedHosts"`
	// HostsProxyHeaders name headers that carry the original host (e.g.
	// X-Forwarded-Host); the first one present is checked instead of Host.
	HostsProxyHeaders []string `json:"hostsProxyHeaders"`
	// SSLProxyHeaders mark a request as HTTPS when a header has the given
	// value, e.g. {"X-Forwarded-Proto": "https"}.
	SSLProxyHeaders map[string]string `json:"sslProxyHeaders"`

	STSSeconds           int64 `json:"stsSeconds"`
	STSIncludeSubdomains bool  `json:"stsIncludeSubdomains"`
	STSPreload           bool  `json:"stsPreload"`
	// ForceSTSHeader sends Strict-Transport-Security on plain HTTP too.
	ForceSTSHeader bool `json:"forceSTSHeader"`

	FrameDeny                       bool   `json:"frameDeny"`
	CustomFrameOptionsValue         string `json:"customFrameOptionsValue"`
	ContentTypeNosniff              bool   `json:"contentTypeNosniff"`
	BrowserXSSFilter                bool   `json:"browserXssFilter"`
	CustomBrowserXSSValue           string `json:"customBrowserXSSValue"`
	ContentSecurityPolicy           string `json:"contentSecurityPolicy"`
	ContentSecurityPolicyReportOnly string `json:"contentSecurityPolicyReportOnly"`
	PublicKey                       string `json:"publicKey"`
	ReferrerPolicy                  string `json:"referrerPolicy"`
	PermissionsPolicy               string `json:"permissionsPolicy"`
	// IsDevelopment turns off allowedHosts, Strict-Transport-Security
	// and Public-Key-Pins, which get in the way on a developer's machine.
	IsDevelopment bool `json:"isDevelopment"`
}

// hasCORS reports whether any CORS option is set; only then are preflight
// requests answered by the middleware (Traefik's rule).
func (s *Spec) hasCORS() bool {
	return s.AccessControlAllowCredentials ||
		len(s.AccessControlAllowHeaders) > 0 ||
		len(s.AccessControlAllowMethods) > 0 ||
		len(s.AccessControlAllowOriginList) > 0 ||
		len(s.AccessControlAllowOriginListRegex) > 0 ||
		len(s.AccessControlExposeHeaders) > 0 ||
		s.AccessControlMaxAge != 0 ||
		s.AddVaryHeader
}

// hasSecure reports whether any of the security options is set.
func (s *Spec) hasSecure() bool {
	return len(s.AllowedHosts) > 0 || len(s.HostsProxyHeaders) > 0 || len(s.SSLProxyHeaders) > 0 ||
		s.STSSeconds != 0 || s.STSIncludeSubdomains || s.STSPreload || s.ForceSTSHeader ||
		s.FrameDeny || s.CustomFrameOptionsValue != "" || s.ContentTypeNosniff ||
		s.BrowserXSSFilter || s.CustomBrowserXSSValue != "" ||
		s.ContentSecurityPolicy != "" || s.ContentSecurityPolicyReportOnly != "" ||
		s.PublicKey != "" || s.ReferrerPolicy != "" || s.PermissionsPolicy != "" || s.IsDevelopment
}

// Validate checks that something is configured and that every header name,
// value and regular expression is usable, so that mistakes show up when the
// configuration is loaded rather than as a malformed response.
func (s *Spec) Validate() error {
	if len(s.CustomRequestHeaders) == 0 && len(s.CustomResponseHeaders) == 0 && !s.hasCORS() && !s.hasSecure() {
		return errors.New("no option is set; set at least one, e.g. customResponseHeaders or frameDeny")
	}
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	checkMap := func(opt string, m map[string]string) {
		seen := map[string]string{}
		for _, k := range sortedKeys(m) {
			if !httpguts.ValidHeaderFieldName(k) {
				add("%s: %q is not a valid header name", opt, k)
				continue
			}
			ck := http.CanonicalHeaderKey(k)
			if prev, dup := seen[ck]; dup {
				add("%s: %q and %q name the same header (header names are case-insensitive)", opt, prev, k)
			}
			seen[ck] = k
			if !httpguts.ValidHeaderFieldValue(m[k]) {
				add("%s: the value of %q contains a control character (such as a line break)", opt, k)
			}
		}
	}
	checkMap("customRequestHeaders", s.CustomRequestHeaders)
	checkMap("customResponseHeaders", s.CustomResponseHeaders)
	checkMap("sslProxyHeaders", s.SSLProxyHeaders)

	checkNames := func(opt string, names []string) {
		for _, n := range names {
			if !httpguts.ValidHeaderFieldName(n) {
				add("%s: %q is not a valid header name", opt, n)
			}
		}
	}
	checkNames("accessControlAllowHeaders", s.AccessControlAllowHeaders)
	checkNames("accessControlExposeHeaders", s.AccessControlExposeHeaders)
	checkNames("hostsProxyHeaders", s.HostsProxyHeaders)
	for _, m := range s.AccessControlAllowMethods {
		if !httpguts.ValidHeaderFieldName(m) { // a method is a token, like a header name
			add("accessControlAllowMethods: %q is not a valid method name", m)
		}
	}
	for _, o := range s.AccessControlAllowOriginList {
		if o == "" || !httpguts.ValidHeaderFieldValue(o) {
			add("accessControlAllowOriginList: %q is not a valid origin; use e.g. \"https://example.com\" or \"*\"", o)
		}
	}
	for _, re := range s.AccessControlAllowOriginListRegex {
		if _, err := regexp.Compile(re); err != nil {
			add("accessControlAllowOriginListRegex: %q is not a valid regular expression: %v", re, err)
		}
	}
	for _, h := range s.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/ \t") {
			add("allowedHosts: %q is not a host name; use e.g. \"example.com\"", h)
		}
	}
	if s.AccessControlMaxAge < 0 {
		add("accessControlMaxAge: %d is negative; give a number of seconds", s.AccessControlMaxAge)
	}
	if s.STSSeconds < 0 {
		add("stsSeconds: %d is negative; give a number of seconds", s.STSSeconds)
	}
	for opt, v := range map[string]string{
		"customFrameOptionsValue":         s.CustomFrameOptionsValue,
		"customBrowserXSSValue":           s.CustomBrowserXSSValue,
		"contentSecurityPolicy":           s.ContentSecurityPolicy,
		"contentSecurityPolicyReportOnly": s.ContentSecurityPolicyReportOnly,
		"publicKey":                       s.PublicKey,
		"referrerPolicy":                  s.ReferrerPolicy,
		"permissionsPolicy":               s.PermissionsPolicy,
	} {
		if !httpguts.ValidHeaderFieldValue(v) {
			add("%s: the value contains a control character (such as a line break)", opt)
		}
	}
	sortErrors(errs)
	return errors.Join(errs...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sortErrors makes the joined message stable whatever the map order.
func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}

// Factory builds headers middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "headers" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build precomputes every header name and value so that a request only
// copies prepared strings.
func (Factory) Build(_ middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("headers: got options of type %T, want *headers.Spec", spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	h := &handler{next: next}

	// Request side.
	for _, k := range sortedKeys(s.CustomRequestHeaders) {
		v := s.CustomRequestHeaders[k]
		switch {
		case v == "":
			h.reqDel = append(h.reqDel, http.CanonicalHeaderKey(k))
		case strings.EqualFold(k, "Host"):
			h.reqHost = v
		default:
			h.reqSet = append(h.reqSet, kv{http.CanonicalHeaderKey(k), v})
		}
	}
	if !s.IsDevelopment {
		h.allowedHosts = s.AllowedHosts
	}
	for _, n := range s.HostsProxyHeaders {
		h.hostsProxyHeaders = append(h.hostsProxyHeaders, http.CanonicalHeaderKey(n))
	}
	for _, k := range sortedKeys(s.SSLProxyHeaders) {
		h.sslProxyHeaders = append(h.sslProxyHeaders, kv{http.CanonicalHeaderKey(k), s.SSLProxyHeaders[k]})
	}

	// Security headers, in the order unrolled/secure (Traefik's library)
	// sets them.
	if !s.IsDevelopment && s.STSSeconds > 0 {
		v := "max-age=" + strconv.FormatInt(s.STSSeconds, 10)
		if s.STSIncludeSubdomains {
			v += "; includeSubDomains"
		}
		if s.STSPreload {
			v += "; preload"
		}
		h.sts = v
		h.forceSTS = s.ForceSTSHeader
	}
	if !s.IsDevelopment {
		h.publicKey = s.PublicKey
	}
	switch {
	case s.CustomFrameOptionsValue != "":
		h.secure = append(h.secure, kv{"X-Frame-Options", s.CustomFrameOptionsValue})
	case s.FrameDeny:
		h.secure = append(h.secure, kv{"X-Frame-Options", "DENY"})
	}
	if s.ContentTypeNosniff {
		h.secure = append(h.secure, kv{"X-Content-Type-Options", "nosniff"})
	}
	switch {
	case s.CustomBrowserXSSValue != "":
		h.secure = append(h.secure, kv{"X-Xss-Protection", s.CustomBrowserXSSValue})
	case s.BrowserXSSFilter:
		h.secure = append(h.secure, kv{"X-Xss-Protection", "1; mode=block"})
	}
	for _, p := range []kv{
		{"Content-Security-Policy", s.ContentSecurityPolicy},
		{"Content-Security-Policy-Report-Only", s.ContentSecurityPolicyReportOnly},
		{"Referrer-Policy", s.ReferrerPolicy},
		{"Permissions-Policy", s.PermissionsPolicy},
	} {
		if p.v != "" {
			h.secure = append(h.secure, p)
		}
	}

	// Custom response headers.
	for _, k := range sortedKeys(s.CustomResponseHeaders) {
		if v := s.CustomResponseHeaders[k]; v == "" {
			h.respDel = append(h.respDel, http.CanonicalHeaderKey(k))
		} else {
			h.respSet = append(h.respSet, kv{http.CanonicalHeaderKey(k), v})
		}
	}

	// CORS.
	if s.hasCORS() {
		h.cors = true
		for _, o := range s.AccessControlAllowOriginList {
			if o == "*" {
				h.anyOrigin = true
			}
		}
		h.origins = s.AccessControlAllowOriginList
		for _, re := range s.AccessControlAllowOriginListRegex {
			h.originRegexps = append(h.originRegexps, regexp.MustCompile(re)) // checked by Validate
		}
		h.allowCredentials = s.AccessControlAllowCredentials
		h.exposeHeaders = strings.Join(s.AccessControlExposeHeaders, ",")
		h.addVary = s.AddVaryHeader
		if s.AccessControlAllowCredentials {
			h.preflight = append(h.preflight, kv{"Access-Control-Allow-Credentials", "true"})
		}
		if len(s.AccessControlAllowHeaders) > 0 {
			h.preflight = append(h.preflight, kv{"Access-Control-Allow-Headers", strings.Join(s.AccessControlAllowHeaders, ",")})
		}
		if len(s.AccessControlAllowMethods) > 0 {
			h.preflight = append(h.preflight, kv{"Access-Control-Allow-Methods", strings.Join(s.AccessControlAllowMethods, ",")})
		}
		h.preflight = append(h.preflight, kv{"Access-Control-Max-Age", strconv.FormatInt(s.AccessControlMaxAge, 10)})
	}

	h.modifiesRequest = len(h.reqSet) > 0 || len(h.reqDel) > 0 || h.reqHost != ""
	// staticResponse: headers added to every response whatever the request.
	h.staticResponse = len(h.secure) > 0 || len(h.respSet) > 0 || len(h.respDel) > 0 ||
		h.allowCredentials || h.exposeHeaders != "" || h.addVary
	return h, nil
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
