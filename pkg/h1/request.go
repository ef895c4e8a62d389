package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"strings"
)

// parseError is a request the server must refuse with status code before
// calling the handler; the connection is closed afterwards.
type parseError struct {
	code   int
	reason string
}

func (e *parseError) Error() string { return e.reason }

func badRequest(reason string) *parseError {
	return &parseError{http.StatusBadRequest, reason}
}

var (
	errBareLF          = badRequest("bare LF")
	errHeadTooLarge    = &parseError{http.StatusRequestHeaderFieldsTooLarge, "request header too large"}
	errRequestLine     = badRequest("malformed request line")
	errMethod          = badRequest("invalid method")
	errTarget          = badRequest("invalid request target")
	errVersion         = badRequest("malformed HTTP version")
	errVersionNotSupp  = &parseError{http.StatusHTTPVersionNotSupported, "unsupported HTTP version"}
	errConnect         = &parseError{http.StatusNotImplemented, "CONNECT not supported"}
	errObsFold         = badRequest("obsolete line folding")
	errHeaderLine      = badRequest("malformed header line")
	errHeaderName      = badRequest("invalid header name")
	errHeaderValue     = badRequest("invalid header value")
	errCLandTE         = badRequest("both Content-Length and Transfer-Encoding")
	errContentLength   = badRequest("invalid Content-Length")
	errTEOnHTTP10      = badRequest("Transfer-Encoding on HTTP/1.0")
	errTEChunkedNotEnd = badRequest("chunked is not the final transfer coding")
	errTEUnsupported   = &parseError{http.StatusNotImplemented, "unsupported transfer coding"}
	errMissingHost     = badRequest("missing Host header")
	errDupHost         = badRequest("several Host headers")
	errInvalidHost     = badRequest("invalid Host")
	errTrailerKey      = badRequest("invalid Trailer declaration")
	errExpect          = &parseError{http.StatusExpectationFailed, "unsupported Expect"}
)

// headScanner finds the end of a request head incrementally, rejecting any LF
// that is not preceded by CR as soon as it is seen.
type headScanner struct {
	pos       int // next byte to examine
	lineStart int // start of the current line
	start     int // start of the request line (after skipped empty lines)
}

// scan examines b (which grows between calls, keeping its prefix) and returns
// the index just past the empty line that ends the head, or 0 if the head is
// not complete yet.
func (h *headScanner) scan(b []byte) (int, error) {
	for {
		i := bytes.IndexByte(b[h.pos:], '\n')
		if i < 0 {
			h.pos = len(b)
			return 0, nil
		}
		nl := h.pos + i
		if nl == h.lineStart || b[nl-1] != '\r' {
			return 0, errBareLF
		}
		h.pos = nl + 1
		if nl-1 == h.lineStart {
			if h.lineStart == h.start {
				// RFC 9112 section 2.2: ignore empty lines received before
				// the request line (sent by some clients after a body).
				h.start = h.pos
				h.lineStart = h.pos
				continue
			}
			return h.pos, nil
		}
		h.lineStart = h.pos
	}
}

// readHead reads one request head from br and returns it as a string that
// starts at the request line and ends with the final CRLF CRLF. Converting
// the head once lets every header value be a substring: one allocation for
// all the strings of a request. The price is that a handler retaining one
// value retains the whole head, which MaxHeaderBytes bounds.
//
// Heads that fit in br's buffer are read with Peek, without copying; larger
// ones are accumulated line by line in *scratch.
func readHead(br *bufio.Reader, bw *bufio.Writer, limit int, scratch *[]byte) (string, error) {
	var hs headScanner
	for {
		buf, _ := br.Peek(br.Buffered())
		end, err := hs.scan(buf)
		if err != nil {
			return "", err
		}
		if end > 0 {
			if end-hs.start > limit {
				return "", errHeadTooLarge
			}
			s := string(buf[hs.start:end])
			br.Discard(end)
			return s, nil
		}
		if len(buf)-hs.start > limit {
			return "", errHeadTooLarge
		}
		if len(buf) >= br.Size() {
			break
		}
		// Never block on the network while holding output: a pipelined
		// batch's responses must reach the client before we wait for it.
		if bw.Buffered() > 0 {
			if err := bw.Flush(); err != nil {
				return "", err
			}
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return "", err
		}
	}

	// The head is larger than the read buffer: copy what we have and go on
	// line by line, so that nothing past the head is consumed.
	b := (*scratch)[:0]
	buf, _ := br.Peek(br.Buffered())
	b = append(b, buf...)
	br.Discard(len(buf))
	for {
		line, err := br.ReadSlice('\n')
		b = append(b, line...)
		if len(b)-hs.start > limit {
			*scratch = b
			return "", errHeadTooLarge
		}
		if err != nil && err != bufio.ErrBufferFull {
			*scratch = b
			return "", err
		}
		end, serr := hs.scan(b)
		if serr != nil {
			*scratch = b
			return "", serr
		}
		if end > 0 {
			*scratch = b
			return string(b[hs.start:end]), nil
		}
	}
}

// reqState holds everything a request needs in one allocation: the
// http.Request, its URL, its body reader and the backing array of the header
// value slices.
type reqState struct {
	req  http.Request
	url  url.URL
	body body
	vals [12]string
}

// parsedHead is what the server needs to know about a request beyond the
// http.Request itself.
type parsedHead struct {
	expectContinue bool
	keepAlive10    bool // HTTP/1.0 request asked for keep-alive
}

// parseRequest builds rs.req from a head returned by readHead.
func parseRequest(rs *reqState, head string, ph *parsedHead) error {
	req := &rs.req

	// Request line: METHOD SP request-target SP HTTP-version CRLF.
	// readHead guarantees that every LF is preceded by CR, so a line ends
	// at the CR before the next LF. Searching for CR instead would let a
	// bare CR inside a line act as a line end.
	eol := strings.IndexByte(head, '\n') - 1
	line := head[:eol]
	rest := head[eol+2:]
	sp1 := strings.IndexByte(line, ' ')
	if sp1 <= 0 {
		return errRequestLine
	}
	method := line[:sp1]
	line = line[sp1+1:]
	sp2 := strings.IndexByte(line, ' ')
	if sp2 <= 0 {
		return errRequestLine
	}
	target, proto := line[:sp2], line[sp2+1:]
	if !validToken(method) {
		return errMethod
	}
	major, minor, ok := parseVersion(proto)
	if !ok {
		return errVersion
	}
	if major != 1 || minor > 1 {
		return errVersionNotSupp
	}
	if method == http.MethodConnect {
		return errConnect
	}
	req.Method = method
	req.RequestURI = target
	req.ProtoMajor, req.ProtoMinor = 1, minor
	if minor == 1 {
		req.Proto = "HTTP/1.1"
	} else {
		req.Proto = "HTTP/1.0"
	}
	if err := parseTarget(rs, target); err != nil {
		return err
	}

	// Header fields. Count them first to size the map and the value array.
	n := strings.Count(rest, "\r\n") - 1
	var strs []string
	if n <= len(rs.vals) {
		strs = rs.vals[:]
	} else {
		strs = make([]string, n)
	}
	h := make(http.Header, n)
	req.Header = h

	var (
		host, cl, trailerDecl string
		hostN, clN            int
		teSeen                bool
		te                    teState
		connClose, connKeep   bool
	)
	for {
		eol := strings.IndexByte(rest, '\n') - 1
		line := rest[:eol]
		rest = rest[eol+2:]
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errObsFold
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return errHeaderLine
		}
		name := line[:colon]
		if !validToken(name) {
			return errHeaderName
		}
		value := trimOWS(line[colon+1:])
		if !validValue(value) {
			return errHeaderValue
		}
		key := canonicalKey(name)
		switch key {
		case "Host":
			// Promoted to req.Host and removed from the map, as net/http does.
			hostN++
			host = value
			continue
		case "Content-Length":
			clN++
			cl = value
		case "Transfer-Encoding":
			// Removed from the map; req.TransferEncoding carries it.
			teSeen = true
			if err := te.add(value); err != nil {
				return err
			}
			continue
		case "Connection":
			if hasToken(value, "close") {
				connClose = true
			}
			if hasToken(value, "keep-alive") {
				connKeep = true
			}
		case "Trailer":
			if trailerDecl != "" {
				trailerDecl += ","
			}
			trailerDecl += value
			continue
		case "Expect":
			if !strings.EqualFold(value, "100-continue") {
				return errExpect
			}
			ph.expectContinue = minor == 1
		}
		if vv, ok := h[key]; ok {
			h[key] = append(vv, value)
		} else if len(strs) > 0 {
			strs[0] = value
			h[key] = strs[:1:1]
			strs = strs[1:]
		} else {
			h[key] = []string{value}
		}
	}

	// Framing (RFC 9112 section 6).
	if teSeen {
		if minor == 0 {
			return errTEOnHTTP10
		}
		if clN > 0 {
			return errCLandTE
		}
		if err := te.result(); err != nil {
			return err
		}
		req.ContentLength = -1
		req.TransferEncoding = chunkedTE
	} else if clN > 0 {
		if clN > 1 {
			return errContentLength
		}
		n, ok := parseContentLength(cl)
		if !ok {
			return errContentLength
		}
		req.ContentLength = n
	}
	if trailerDecl != "" && teSeen {
		req.Trailer = make(http.Header)
		for trailerDecl != "" {
			var k string
			k, trailerDecl, _ = strings.Cut(trailerDecl, ",")
			k = trimOWS(k)
			if k == "" {
				continue
			}
			if !validToken(k) {
				return errTrailerKey
			}
			k = canonicalKey(k)
			switch k {
			case "Transfer-Encoding", "Trailer", "Content-Length", "Host":
				return errTrailerKey
			}
			req.Trailer[k] = nil
		}
	}

	// Host (RFC 9112 section 3.2).
	if hostN > 1 {
		return errDupHost
	}
	if hostN == 0 && minor == 1 {
		return errMissingHost
	}
	if !validHost(host) {
		return errInvalidHost
	}
	if req.URL.Host != "" {
		// Absolute-form: the target's authority wins over the Host header.
		req.Host = req.URL.Host
	} else {
		req.Host = host
	}

	if minor == 0 {
		req.Close = !connKeep || connClose
		ph.keepAlive10 = !req.Close
	} else {
		req.Close = connClose
	}
	return nil
}

var chunkedTE = []string{"chunked"}

// teState accumulates the transfer codings of all Transfer-Encoding fields.
type teState struct {
	chunkedLast bool // the codings so far end with chunked
	other       bool // a coding other than chunked was seen
}

// add processes one Transfer-Encoding field value.
func (st *teState) add(v string) error {
	if trimOWS(v) == "" {
		return errTEChunkedNotEnd
	}
	for v != "" {
		var c string
		c, v, _ = strings.Cut(v, ",")
		c = trimOWS(c)
		if c == "" {
			continue
		}
		if st.chunkedLast {
			// Anything after chunked, chunked applied twice included,
			// leaves the body length undeterminable.
			return errTEChunkedNotEnd
		}
		if strings.EqualFold(c, "chunked") {
			st.chunkedLast = true
			continue
		}
		if !validToken(c) {
			return errTEChunkedNotEnd
		}
		st.other = true
	}
	return nil
}

// result maps the accumulated codings to the framing decision: only exactly
// "chunked" is supported; a coding we do not implement is 501.
func (st *teState) result() error {
	if st.other {
		return errTEUnsupported
	}
	if !st.chunkedLast {
		return errTEChunkedNotEnd
	}
	return nil
}

// parseContentLength accepts 1*DIGIT only, rejecting signs, spaces, lists and
// values that overflow int64.
func parseContentLength(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		// 19 digits is the most int64 can hold; leading zeros beyond that
		// are not worth supporting.
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseVersion parses "HTTP/" DIGIT "." DIGIT.
func parseVersion(s string) (major, minor int, ok bool) {
	if len(s) != 8 || s[:5] != "HTTP/" || s[6] != '.' {
		return 0, 0, false
	}
	a, b := s[5], s[7]
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, 0, false
	}
	return int(a - '0'), int(b - '0'), true
}

// targetTable marks bytes allowed in a request target: visible ASCII and
// obs-text (raw UTF-8 that some clients send), never CTLs, SP or DEL.
var targetTable = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// pathSafe marks bytes that url.URL.setPath would leave unescaped, so that a
// target made only of them parses to Path == target without RawPath.
var pathSafe = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "-_.~$&+,/:;=@" {
		t[c] = true
	}
	return t
}()

// parseTarget fills rs.req.URL from the request target.
func parseTarget(rs *reqState, target string) error {
	for i := 0; i < len(target); i++ {
		if !targetTable[target[i]] {
			return errTarget
		}
	}
	req := &rs.req
	switch {
	case target[0] == '/':
		// Origin-form fast path: a plain path (and any query) is exactly
		// what url.ParseRequestURI would produce, without its allocation.
		path, query, hasQuery := strings.Cut(target, "?")
		plain := true
		for i := 0; i < len(path); i++ {
			if !pathSafe[path[i]] {
				plain = false
				break
			}
		}
		if plain {
			rs.url.Path = path
			rs.url.RawQuery = query
			rs.url.ForceQuery = hasQuery && query == "" && strings.Count(target, "?") == 1
			req.URL = &rs.url
			return nil
		}
	case target == "*":
		if req.Method != http.MethodOptions {
			return errTarget
		}
		rs.url.Path = "*"
		req.URL = &rs.url
		return nil
	case len(target) > 7 && (strings.EqualFold(target[:7], "http://") ||
		len(target) > 8 && strings.EqualFold(target[:8], "https://")):
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Host == "" || !validHost(u.Host) || u.User != nil {
			return errTarget
		}
		req.URL = u
		return nil
	default:
		return errTarget
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return errTarget
	}
	req.URL = u
	return nil
}

// validHost checks a Host value: uri-host [ ":" port ], where uri-host is
// an IP-literal in brackets or a reg-name/IPv4address. An empty value is
// allowed, as RFC 9112 permits it for targets without an authority.
func validHost(h string) bool {
	if h == "" {
		return true
	}
	port := ""
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		for i := 1; i < end; i++ {
			c := h[i]
			if !(isHex(c) || c == ':' || c == '.' || c == '%' || c == '-' || c == '_' || c == '~' ||
				'g' <= c && c <= 'z' || 'G' <= c && c <= 'Z') {
				return false
			}
		}
		rest := h[end+1:]
		if rest == "" {
			return true
		}
		if rest[0] != ':' {
			return false
		}
		port = rest[1:]
	} else {
		name := h
		if i := strings.IndexByte(h, ':'); i >= 0 {
			name, port = h[:i], h[i+1:]
		}
		for i := 0; i < len(name); i++ {
			if !regNameTable[name[i]] {
				return false
			}
		}
		if name == "" {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// regNameTable is unreserved / pct-encoded / sub-delims (RFC 3986).
var regNameTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "-._~%!$&'()*+,;=" {
		t[c] = true
	}
	return t
}()
