package proxy

import (
	"bufio"
	"net/http"
	"strings"

	"github.com/berthproxy/berth/pkg/h1"
)

// maxHeaderBytes bounds the status line plus headers (and, separately, the
// trailers) of an upstream response.
const maxHeaderBytes = 1 << 20

// bodyFraming is how the end of a response body is found.
type bodyFraming uint8

const (
	framingNone    bodyFraming = iota // HEAD, 1xx, 204, 304
	framingLength                     // Content-Length
	framingChunked                    // Transfer-Encoding: chunked
	framingClose                      // read until the server closes
)

// field is one header line as offsets into respHead.buf.
type field struct {
	name, value      [2]int32
	skip             bool // hop-by-hop: not copied to the client
	connectionHeader bool
}

// respHead is a parsed status line and header block. It is reused for every
// response on a connection so parsing allocates nothing; the strings handed
// to the ResponseWriter are cut from a single copy of buf.
type respHead struct {
	status        int
	framing       bodyFraming
	contentLength int64
	close         bool   // the connection cannot be reused after this response
	upgrade       string // Upgrade value on a 101
	eventStream   bool   // Content-Type: text/event-stream
	buf           []byte
	fields        []field
}

// tokenTable marks the tchar bytes of RFC 9110.
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isTokenByte(b byte) bool { return tokenTable[b] }

// validFieldValue rejects control characters (CR and LF included) other
// than HTAB, and DEL; obs-text (0x80-0xff) is allowed.
func validFieldValue(v []byte) bool {
	for _, b := range v {
		if (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// readLine appends the next CRLF-terminated line to *dst, without the CRLF,
// and returns its offset. Lines ending in a bare LF are rejected. Reading
// stops at limit bytes in *dst.
func readLine(br *bufio.Reader, dst *[]byte, limit int) (int, error) {
	start := len(*dst)
	for {
		frag, err := br.ReadSlice('\n')
		*dst = append(*dst, frag...)
		if len(*dst) > limit {
			return 0, malformed("header block too large")
		}
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return 0, err
		}
	}
	b := *dst
	if len(b)-start < 2 || b[len(b)-2] != '\r' {
		return 0, malformed("line not terminated by CRLF")
	}
	*dst = b[:len(b)-2]
	return start, nil
}

// readResponseHead reads one status line and header block. The first error
// before any byte arrived is returned as is so the caller can recognise a
// dead keep-alive connection; anything later is malformed or I/O.
func readResponseHead(br *bufio.Reader, h *respHead, method string) error {
	h.buf = h.buf[:0]
	h.fields = h.fields[:0]
	h.close = false
	h.upgrade = ""
	h.eventStream = false
	h.contentLength = -1

	// The status line is parsed from the bufio buffer itself; line is only
	// valid until the next read.
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return malformed("status line too long")
		}
		if len(line) == 0 {
			return &noResponseError{err}
		}
		return err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return malformed("status line not terminated by CRLF")
	}
	line = line[:len(line)-2]
	// HTTP-version SP 3DIGIT [SP reason-phrase]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return malformed("bad status line")
	}
	http10 := false
	switch line[7] {
	case '1':
	case '0':
		http10 = true
		h.close = true // HTTP/1.0 keep-alive is not worth the ambiguity
	default:
		return malformed("bad HTTP version")
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return malformed("bad status code")
		}
		code = code*10 + int(d-'0')
	}
	if code < 100 {
		return malformed("bad status code")
	}
	if len(line) > 12 && !validFieldValue(line[13:]) {
		return malformed("bad reason phrase")
	}
	h.status = code

	var (
		clSeen, teSeen, chunked bool
	)
	for {
		start, err := readLine(br, &h.buf, maxHeaderBytes)
		if err != nil {
			return err
		}
		l := h.buf[start:]
		if len(l) == 0 {
			h.buf = h.buf[:start]
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return malformed("obsolete line folding")
		}
		colon := -1
		for i, b := range l {
			if b == ':' {
				colon = i
				break
			}
			if !isTokenByte(b) {
				return malformed("bad header name")
			}
		}
		if colon <= 0 {
			return malformed("bad header line")
		}
		vs, ve := colon+1, len(l)
		for vs < ve && (l[vs] == ' ' || l[vs] == '\t') {
			vs++
		}
		for ve > vs && (l[ve-1] == ' ' || l[ve-1] == '\t') {
			ve--
		}
		if !validFieldValue(l[vs:ve]) {
			return malformed("bad header value")
		}
		canonicalize(l[:colon])
		name, value := l[:colon], l[vs:ve]
		f := field{
			name:  [2]int32{int32(start), int32(start + colon)},
			value: [2]int32{int32(start + vs), int32(start + ve)},
		}
		switch string(name) {
		case "Content-Length":
			if clSeen {
				return malformed("duplicate Content-Length")
			}
			clSeen = true
			n, ok := parseContentLength(value)
			if !ok {
				return malformed("bad Content-Length")
			}
			h.contentLength = n
		case "Transfer-Encoding":
			if teSeen {
				return malformed("duplicate Transfer-Encoding")
			}
			teSeen = true
			if !strings.EqualFold(string(value), "chunked") {
				return malformed("unsupported Transfer-Encoding")
			}
			chunked = true
			f.skip = true
		case "Connection":
			f.skip = true
			f.connectionHeader = true
			if hasToken(value, "close") {
				h.close = true
			}
		case "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Te", "Upgrade":
			f.skip = true
			if string(name) == "Upgrade" {
				h.upgrade = string(value)
			}
		case "Content-Type":
			h.eventStream = hasPrefixFold(value, "text/event-stream")
		}
		h.fields = append(h.fields, f)
	}
	if clSeen && teSeen {
		return malformed("both Content-Length and Transfer-Encoding")
	}
	if teSeen && http10 {
		return malformed("Transfer-Encoding in an HTTP/1.0 response")
	}
	// Headers named in Connection are hop-by-hop too.
	for i := range h.fields {
		if !h.fields[i].connectionHeader {
			continue
		}
		v := h.buf[h.fields[i].value[0]:h.fields[i].value[1]]
		for j := range h.fields {
			f := &h.fields[j]
			if !f.skip && !isProtectedHeader(string(h.buf[f.name[0]:f.name[1]])) &&
				hasToken(v, string(h.buf[f.name[0]:f.name[1]])) {
				f.skip = true
			}
		}
	}

	switch {
	case method == "HEAD" || code < 200 || code == 204 || code == 304:
		h.framing = framingNone
	case chunked:
		h.framing = framingChunked
	case clSeen:
		h.framing = framingLength
	default:
		h.framing = framingClose
		h.close = true
	}
	return nil
}

// noResponseError means the connection ended before a single response byte:
// on a reused connection this is the stale keep-alive race.
type noResponseError struct{ err error }

func (e *noResponseError) Error() string {
	return "proxy: connection closed before response: " + e.err.Error()
}
func (e *noResponseError) Unwrap() error { return e.err }

// copyHeaders adds the forwarded fields to dst. All values share one string
// and one []string backing array, so a response costs two allocations plus
// map growth, whatever its number of headers.
func (h *respHead) copyHeaders(dst http.Header) {
	n := 0
	for i := range h.fields {
		if !h.fields[i].skip {
			n++
		}
	}
	if n == 0 {
		return
	}
	s := string(h.buf)
	vals := make([]string, n)
	i := 0
	for _, f := range h.fields {
		if f.skip {
			continue
		}
		k := s[f.name[0]:f.name[1]]
		vals[i] = s[f.value[0]:f.value[1]]
		if prev := dst[k]; len(prev) > 0 {
			dst[k] = append(prev, vals[i])
		} else {
			dst[k] = vals[i : i+1 : i+1]
		}
		i++
	}
}

// canonicalize rewrites a valid token header name in place to the form
// net/http uses for map keys ("content-type" → "Content-Type").
func canonicalize(b []byte) {
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		} else if !upper && 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
}

// parseContentLength accepts only 1*DIGIT (no sign, no list, no spaces).
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range v {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// hasToken reports whether the comma-separated list v contains tok,
// case-insensitively.
func hasToken(v []byte, tok string) bool {
	s := string(v)
	for s != "" {
		var t string
		t, s, _ = strings.Cut(s, ",")
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

func hasPrefixFold(v []byte, prefix string) bool {
	return len(v) >= len(prefix) && strings.EqualFold(string(v[:len(prefix)]), prefix)
}

// readChunkSize reads a chunk-size line: 1*HEXDIG [ chunk-ext ] CRLF, as
// strictly as the server side (h1.ParseChunkSize).
func readChunkSize(br *bufio.Reader) (int64, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return 0, malformed("chunk size line too long")
		}
		return 0, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, malformed("chunk size line not terminated by CRLF")
	}
	n, err := h1.ParseChunkSize(line[:len(line)-2])
	if err == h1.ErrChunkExt {
		return 0, malformed("bad chunk extension")
	}
	if err != nil {
		return 0, malformed("bad chunk size")
	}
	return n, nil
}

// readCRLF consumes the CRLF that ends a chunk's data.
func readCRLF(br *bufio.Reader) error {
	b, err := br.Peek(2)
	if err != nil {
		return err
	}
	if b[0] != '\r' || b[1] != '\n' {
		return malformed("chunk data not followed by CRLF")
	}
	_, _ = br.Discard(2)
	return nil
}

// readTrailers reads the trailer section after the last chunk and sets the
// fields on dst with http.TrailerPrefix, which net/http and the HTTP/2
// server send as trailers whether or not they were declared.
func readTrailers(br *bufio.Reader, scratch *[]byte, dst http.Header) error {
	*scratch = (*scratch)[:0]
	for {
		start, err := readLine(br, scratch, maxHeaderBytes)
		if err != nil {
			return err
		}
		l := (*scratch)[start:]
		if len(l) == 0 {
			return nil
		}
		colon := -1
		for i, b := range l {
			if b == ':' {
				colon = i
				break
			}
			if !isTokenByte(b) {
				return malformed("bad trailer name")
			}
		}
		if colon <= 0 || l[0] == ' ' || l[0] == '\t' {
			return malformed("bad trailer line")
		}
		v := l[colon+1:]
		for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
			v = v[1:]
		}
		for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
			v = v[:len(v)-1]
		}
		if !validFieldValue(v) {
			return malformed("bad trailer value")
		}
		canonicalize(l[:colon])
		switch name := string(l[:colon]); name {
		case "Content-Length", "Transfer-Encoding", "Trailer", "Host", "Connection",
			"Keep-Alive", "Te", "Upgrade", "Proxy-Connection":
			// Framing and routing fields are not allowed in trailers.
		default:
			k := http.TrailerPrefix + name
			dst[k] = append(dst[k], string(v))
		}
	}
}
