package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// conn is one upstream connection with its own buffers. It is used by one
// request goroutine at a time and by nobody while idle in the pool.
type conn struct {
	nc        net.Conn
	raw       syscall.RawConn // the TCP socket under nc, for peerClosed; may be nil
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	reused    bool  // taken from the pool rather than freshly dialled
	written   int64 // bytes the kernel accepted for the current request
	head      respHead
	// poison unblocks any pending I/O when the request context ends. It is
	// made once per connection so watching a context costs no closure.
	poison func()
}

func newConn(nc, tcp net.Conn) *conn {
	c := &conn{nc: nc}
	if sc, ok := tcp.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.poison = func() { _ = nc.SetDeadline(aLongTimeAgo) }
	c.br = bufio.NewReaderSize(nc, 8<<10)
	c.bw = bufio.NewWriterSize(countingWriter{c}, 8<<10)
	return c
}

// countingWriter counts what reaches the socket, so a failed request can be
// known to have sent nothing (and is then always safe to retry).
type countingWriter struct{ c *conn }

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.c.nc.Write(p)
	w.c.written += int64(n)
	return n, err
}

func (c *conn) close() { _ = c.nc.Close() }

// copyBufPool holds 32 KiB buffers for streaming bodies.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// hopHeaders are never forwarded: they describe one connection, not the
// message. Keys are canonical, as net/http and the h1 server store them.
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// isProtectedHeader reports headers set by the entrypoint that a client must
// not be able to strip by naming them in Connection (CVE-2024-45410).
func isProtectedHeader(k string) bool {
	switch k {
	case "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
		"X-Forwarded-Port", "X-Forwarded-Server", "X-Real-Ip":
		return true
	}
	return false
}

// connectionListed reports whether the Connection header values name k.
func connectionListed(conn []string, k string) bool {
	for _, v := range conn {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(tok), k) {
				return true
			}
		}
	}
	return false
}

// outRequest is what the handler decided about one request before writing.
type outRequest struct {
	r        *http.Request
	upgrade  string // Upgrade value to forward, "" when not upgrading
	hasBody  bool
	chunked  bool // body sent chunked (unknown length or trailers)
	bodyRead bool // at least one byte was taken from r.Body
}

// writeRequest writes the request line, headers and body to c and flushes.
// It never modifies r.
func (h *handler) writeRequest(c *conn, o *outRequest) error {
	r := o.r
	bw := c.bw
	c.written = 0
	if !validMethod(r.Method) {
		return errInvalidMethod
	}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	h.writeRequestURI(bw, r)
	bw.WriteString(" HTTP/1.1\r\n")

	if h.target.PassHostHeader {
		host := r.Host
		if host == "" {
			host = h.urlHost
		}
		if !httpguts.ValidHostHeader(host) {
			return errInvalidHost
		}
		bw.WriteString("Host: ")
		bw.WriteString(host)
		bw.WriteString("\r\n")
	} else {
		bw.WriteString(h.hostLine)
	}

	connVals := r.Header["Connection"]
	for k, vv := range r.Header {
		switch k {
		case "Host", "Content-Length", "X-Forwarded-For":
			// Host was written above, the framing is ours, and
			// X-Forwarded-For is appended to below.
			continue
		}
		if isHopHeader(k) {
			continue
		}
		if connVals != nil && !isProtectedHeader(k) && connectionListed(connVals, k) {
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return errInvalidHeader
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return errInvalidHeader
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if err := writeXForwardedFor(bw, r); err != nil {
		return err
	}
	// "TE: trailers" tells the server we accept trailers; keep it, as
	// httputil.ReverseProxy does, since the client said so too.
	if te := r.Header["Te"]; te != nil && httpguts.HeaderValuesContainsToken(te, "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	if o.upgrade != "" {
		bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
		bw.WriteString(o.upgrade)
		bw.WriteString("\r\n")
	}

	switch {
	case o.chunked:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		if len(r.Trailer) > 0 {
			bw.WriteString("Trailer: ")
			first := true
			for k := range r.Trailer {
				if !httpguts.ValidHeaderFieldName(k) {
					return errInvalidHeader
				}
				if !first {
					bw.WriteString(", ")
				}
				first = false
				bw.WriteString(k)
			}
			bw.WriteString("\r\n")
		}
	case o.hasBody:
		bw.WriteString("Content-Length: ")
		var num [20]byte
		bw.Write(strconv.AppendInt(num[:0], r.ContentLength, 10))
		bw.WriteString("\r\n")
	case r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH":
		// Servers may insist on a length for these methods (411).
		bw.WriteString("Content-Length: 0\r\n")
	}
	bw.WriteString("\r\n")

	if o.hasBody {
		if err := writeBody(bw, o); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// writeRequestURI writes the escaped path and raw query, joined to the
// server URL's path when PreservePath is set.
func (h *handler) writeRequestURI(bw *bufio.Writer, r *http.Request) {
	u := r.URL
	path := ""
	if u.Opaque != "" {
		path = u.Opaque
	} else {
		path = u.EscapedPath()
	}
	if h.pathPrefix != "" {
		bw.WriteString(h.pathPrefix)
		switch {
		case path == "" || path == "*":
			path = ""
		case path[0] == '/':
			path = path[1:]
		}
	} else if path == "" {
		path = "/"
	}
	bw.WriteString(path)
	if u.ForceQuery || u.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(u.RawQuery)
	}
}

// writeXForwardedFor appends the client IP to any X-Forwarded-For the
// request carries. A header present with a nil value means "omit", as in
// httputil.ReverseProxy.
func writeXForwardedFor(bw *bufio.Writer, r *http.Request) error {
	prior, ok := r.Header["X-Forwarded-For"]
	if ok && prior == nil {
		return nil
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = ""
	}
	if len(prior) == 0 && ip == "" {
		return nil
	}
	bw.WriteString("X-Forwarded-For: ")
	for i, v := range prior {
		if !httpguts.ValidHeaderFieldValue(v) {
			return errInvalidHeader
		}
		if i > 0 {
			bw.WriteString(", ")
		}
		bw.WriteString(v)
	}
	if ip != "" {
		if len(prior) > 0 {
			bw.WriteString(", ")
		}
		if !httpguts.ValidHeaderFieldValue(ip) {
			return errInvalidHeader
		}
		bw.WriteString(ip)
	}
	bw.WriteString("\r\n")
	return nil
}

// writeBody streams r.Body: exactly ContentLength bytes, or chunked with the
// request trailers at the end.
func writeBody(bw *bufio.Writer, o *outRequest) error {
	r := o.r
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	if !o.chunked {
		remaining := r.ContentLength
		for remaining > 0 {
			n, err := r.Body.Read(buf[:min(int64(len(buf)), remaining)])
			if n > 0 {
				o.bodyRead = true
				remaining -= int64(n)
				if _, werr := bw.Write(buf[:n]); werr != nil {
					return werr
				}
			}
			if err != nil {
				if err == io.EOF {
					if remaining > 0 {
						return errBodyTooShort
					}
					break
				}
				return &clientBodyError{err}
			}
		}
		return nil
	}
	var num [20]byte
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			o.bodyRead = true
			bw.Write(strconv.AppendInt(num[:0], int64(n), 16))
			bw.WriteString("\r\n")
			bw.Write(buf[:n])
			if _, werr := bw.WriteString("\r\n"); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return &clientBodyError{err}
		}
	}
	bw.WriteString("0\r\n")
	// r.Trailer is filled by the server once the body reached EOF.
	for k, vv := range r.Trailer {
		if !httpguts.ValidHeaderFieldName(k) {
			return errInvalidHeader
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return errInvalidHeader
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// validMethod reports whether m is a non-empty token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if !isTokenByte(m[i]) {
			return false
		}
	}
	return true
}
