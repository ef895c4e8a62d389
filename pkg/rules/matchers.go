package rules

import (
	"errors"
	"net/http"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// matcher is one compiled node of a rule. Each implementation is a small
// value built once by Parse, so that match does no parsing or validation.
type matcher interface {
	match(req *http.Request) bool
}

// arg is a matcher argument with the column of its opening quote, which is
// where errors about its value point.
type arg struct {
	text string
	col  int
}

// matcherSpec describes a matcher: how many arguments it accepts and how it
// turns validated arguments into a matcher.
type matcherSpec struct {
	minArgs, maxArgs int
	build            func(args []arg) (matcher, *SyntaxError)
}

// matcherSpecs lists the Traefik v3 HTTP matchers. Names are case-sensitive,
// as in Traefik.
var matcherSpecs map[string]matcherSpec

// The table is filled in init because suggestMatcher, reachable from the
// builders' error paths, reads it; a plain initializer would be a cycle.
func init() {
	matcherSpecs = map[string]matcherSpec{
		"Host":         {1, 1, buildHost},
		"HostRegexp":   {1, 1, buildHostRegexp},
		"Path":         {1, 1, buildPath},
		"PathPrefix":   {1, 1, buildPathPrefix},
		"PathRegexp":   {1, 1, buildPathRegexp},
		"Method":       {1, 1, buildMethod},
		"Header":       {2, 2, buildHeader},
		"HeaderRegexp": {2, 2, buildHeaderRegexp},
		"Query":        {1, 2, buildQuery},
		"QueryRegexp":  {2, 2, buildQueryRegexp},
		"ClientIP":     {1, 1, buildClientIP},
	}
}

// Operators.

type andMatcher []matcher

func (ms andMatcher) match(req *http.Request) bool {
	for _, m := range ms {
		if !m.match(req) {
			return false
		}
	}
	return true
}

type orMatcher []matcher

func (ms orMatcher) match(req *http.Request) bool {
	for _, m := range ms {
		if m.match(req) {
			return true
		}
	}
	return false
}

type notMatcher struct{ m matcher }

func (n notMatcher) match(req *http.Request) bool { return !n.m.match(req) }

// Host.

// hostMatcher matches the request host against an exact name or, when
// wildcard is set, against any single label followed by suffix.
type hostMatcher struct {
	// pattern is the lower-cased host as Hosts reports it, such as
	// "example.com" or "*.example.com".
	pattern string
	// suffix is what the request host must end with: the whole name for an
	// exact match, ".example.com" for a wildcard.
	suffix   string
	wildcard bool
}

func buildHost(args []arg) (matcher, *SyntaxError) {
	a := args[0]
	h := strings.TrimSuffix(a.text, ".")
	hasPort := strings.Count(h, ":") == 1
	if strings.HasPrefix(h, "[") {
		// Requests are compared without IPv6 brackets.
		inner, ok := strings.CutSuffix(h[1:], "]")
		if !ok && !strings.Contains(inner, "]") {
			return nil, errorAt(a.col, "Host: unclosed \"[\" in "+strconv.Quote(a.text))
		}
		h, hasPort = inner, !ok
	}
	if hasPort {
		// The request port is ignored, so a rule with one could never match.
		return nil, &SyntaxError{Col: a.col, Msg: "Host: " + strconv.Quote(a.text) + " must not include a port",
			Hint: "the port is ignored when matching"}
	}
	if h == "" {
		return nil, errorAt(a.col, "Host: empty host name")
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return nil, &SyntaxError{Col: a.col, Msg: "Host: " + strconv.Quote(a.text) + " contains non-ASCII characters",
				Hint: "write internationalized names in punycode (xn--...)"}
		}
	}
	h = strings.ToLower(h)
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		if rest == "" || strings.Contains(rest, "*") {
			return nil, wildcardError(a)
		}
		return &hostMatcher{pattern: h, suffix: h[1:], wildcard: true}, nil
	}
	if strings.Contains(h, "*") {
		return nil, wildcardError(a)
	}
	return &hostMatcher{pattern: h, suffix: h}, nil
}

func wildcardError(a arg) *SyntaxError {
	return &SyntaxError{Col: a.col, Msg: "Host: invalid wildcard " + strconv.Quote(a.text),
		Hint: "only a whole first label may be a wildcard, as in `*.example.com`; use HostRegexp for other patterns"}
}

func (m *hostMatcher) match(req *http.Request) bool {
	host := requestHost(req)
	if !m.wildcard {
		return equalFoldASCII(host, m.suffix)
	}
	// The label the wildcard stands for must be non-empty and must not
	// contain a dot, so *.example.com matches neither example.com nor
	// a.b.example.com.
	n := len(host) - len(m.suffix)
	if n <= 0 || !equalFoldASCII(host[n:], m.suffix) {
		return false
	}
	return strings.IndexByte(host[:n], '.') < 0
}

// hostRegexpMatcher matches the lower-cased request host, as Traefik does,
// against a regular expression used exactly as written.
type hostRegexpMatcher struct{ re *regexp.Regexp }

func buildHostRegexp(args []arg) (matcher, *SyntaxError) {
	re, err := compileRegexp("HostRegexp", args[0])
	if err != nil {
		return nil, err
	}
	return hostRegexpMatcher{re}, nil
}

func (m hostRegexpMatcher) match(req *http.Request) bool {
	return m.re.MatchString(lowerASCII(requestHost(req)))
}

// Path.

type pathMatcher struct{ path string }

func buildPath(args []arg) (matcher, *SyntaxError) {
	if err := checkPath("Path", args[0]); err != nil {
		return nil, err
	}
	return pathMatcher{args[0].text}, nil
}

func (m pathMatcher) match(req *http.Request) bool { return requestPath(req) == m.path }

type pathPrefixMatcher struct{ prefix string }

func buildPathPrefix(args []arg) (matcher, *SyntaxError) {
	if err := checkPath("PathPrefix", args[0]); err != nil {
		return nil, err
	}
	return pathPrefixMatcher{args[0].text}, nil
}

func (m pathPrefixMatcher) match(req *http.Request) bool {
	return strings.HasPrefix(requestPath(req), m.prefix)
}

// checkPath rejects relative paths, which could never match because
// request paths always start with "/".
func checkPath(name string, a arg) *SyntaxError {
	if !strings.HasPrefix(a.text, "/") {
		return &SyntaxError{Col: a.col, Msg: name + ": " + strconv.Quote(a.text) + ` must start with "/"`}
	}
	return nil
}

type pathRegexpMatcher struct{ re *regexp.Regexp }

func buildPathRegexp(args []arg) (matcher, *SyntaxError) {
	re, err := compileRegexp("PathRegexp", args[0])
	if err != nil {
		return nil, err
	}
	return pathRegexpMatcher{re}, nil
}

func (m pathRegexpMatcher) match(req *http.Request) bool {
	return m.re.MatchString(requestPath(req))
}

// Method.

type methodMatcher struct{ method string }

func buildMethod(args []arg) (matcher, *SyntaxError) {
	a := args[0]
	if a.text == "" {
		return nil, errorAt(a.col, "Method: empty method")
	}
	return methodMatcher{strings.ToUpper(a.text)}, nil
}

func (m methodMatcher) match(req *http.Request) bool {
	method := req.Method
	if method == "" {
		method = http.MethodGet // As net/http documents for client requests.
	}
	return equalFoldASCII(method, m.method)
}

// Header.

// headerMatcher compares against the values of one header. The key is
// canonicalized at parse time so matching indexes req.Header directly instead
// of calling Header.Values, which would canonicalize on every request.
type headerMatcher struct {
	key   string
	value string
}

func buildHeader(args []arg) (matcher, *SyntaxError) {
	key, err := headerKey("Header", args[0])
	if err != nil {
		return nil, err
	}
	return headerMatcher{key: key, value: args[1].text}, nil
}

func (m headerMatcher) match(req *http.Request) bool {
	if m.key == "Host" {
		// net/http moves the Host header out of req.Header into req.Host.
		return req.Host == m.value
	}
	for _, v := range req.Header[m.key] {
		if v == m.value {
			return true
		}
	}
	return false
}

type headerRegexpMatcher struct {
	key string
	re  *regexp.Regexp
}

func buildHeaderRegexp(args []arg) (matcher, *SyntaxError) {
	key, err := headerKey("HeaderRegexp", args[0])
	if err != nil {
		return nil, err
	}
	re, err := compileRegexp("HeaderRegexp", args[1])
	if err != nil {
		return nil, err
	}
	return headerRegexpMatcher{key: key, re: re}, nil
}

func (m headerRegexpMatcher) match(req *http.Request) bool {
	if m.key == "Host" {
		return m.re.MatchString(req.Host)
	}
	for _, v := range req.Header[m.key] {
		if m.re.MatchString(v) {
			return true
		}
	}
	return false
}

func headerKey(name string, a arg) (string, *SyntaxError) {
	if a.text == "" {
		return "", errorAt(a.col, name+": empty header name")
	}
	return http.CanonicalHeaderKey(a.text), nil
}

// Query.

// queryMatcher matches a query parameter. With hasValue unset, the
// parameter only has to be present, with any value.
type queryMatcher struct {
	key      string
	value    string
	hasValue bool
}

func buildQuery(args []arg) (matcher, *SyntaxError) {
	if args[0].text == "" {
		return nil, errorAt(args[0].col, "Query: empty parameter name")
	}
	m := queryMatcher{key: args[0].text}
	if len(args) == 2 {
		m.value, m.hasValue = args[1].text, true
	}
	return m, nil
}

func (m queryMatcher) match(req *http.Request) bool {
	if req.URL == nil {
		return false
	}
	return scanQuery(req.URL.RawQuery, m.key, func(v string) bool {
		return !m.hasValue || v == m.value
	})
}

type queryRegexpMatcher struct {
	key string
	re  *regexp.Regexp
}

func buildQueryRegexp(args []arg) (matcher, *SyntaxError) {
	if args[0].text == "" {
		return nil, errorAt(args[0].col, "QueryRegexp: empty parameter name")
	}
	re, err := compileRegexp("QueryRegexp", args[1])
	if err != nil {
		return nil, err
	}
	return queryRegexpMatcher{key: args[0].text, re: re}, nil
}

func (m queryRegexpMatcher) match(req *http.Request) bool {
	if req.URL == nil {
		return false
	}
	return scanQuery(req.URL.RawQuery, m.key, m.re.MatchString)
}

// ClientIP.

// clientIPMatcher matches the address of the connection peer. Forwarded
// headers are deliberately ignored: they are set by the client and trusting
// them belongs to a middleware that knows which proxies are trusted.
type clientIPMatcher struct{ prefix netip.Prefix }

func buildClientIP(args []arg) (matcher, *SyntaxError) {
	a := args[0]
	if strings.Contains(a.text, "/") {
		p, err := netip.ParsePrefix(a.text)
		if err != nil {
			return nil, errorAt(a.col, "ClientIP: invalid CIDR "+strconv.Quote(a.text))
		}
		return clientIPMatcher{p.Masked()}, nil
	}
	ip, err := netip.ParseAddr(a.text)
	if err != nil {
		return nil, &SyntaxError{Col: a.col, Msg: "ClientIP: invalid IP " + strconv.Quote(a.text),
			Hint: "write an IP address such as `10.0.0.1` or a CIDR such as `10.0.0.0/8`"}
	}
	ip = ip.Unmap().WithZone("")
	return clientIPMatcher{netip.PrefixFrom(ip, ip.BitLen())}, nil
}

func (m clientIPMatcher) match(req *http.Request) bool {
	ip, ok := remoteIP(req.RemoteAddr)
	if !ok {
		return false
	}
	// Prefixes never contain zoned addresses, and an IPv4 client may
	// arrive on a dual-stack listener as ::ffff:a.b.c.d.
	ip = ip.WithZone("")
	return m.prefix.Contains(ip) || m.prefix.Contains(ip.Unmap())
}

// compileRegexp compiles a regexp argument, reporting Go's reason without
// its "error parsing regexp:" preamble, which would repeat the context.
func compileRegexp(name string, a arg) (*regexp.Regexp, *SyntaxError) {
	re, err := regexp.Compile(a.text)
	if err == nil {
		return re, nil
	}
	reason := err.Error()
	var se *syntax.Error
	if errors.As(err, &se) {
		reason = se.Code.String()
		if se.Expr != "" && se.Expr != a.text {
			reason += " in " + strconv.Quote(se.Expr)
		}
	}
	return nil, errorAt(a.col, name+": invalid regexp "+strconv.Quote(a.text)+": "+reason)
}
