package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"
)

// Target is one server of a service.
type Target struct {
	URL            *url.URL      // http://, https:// or h2c://
	PassHostHeader bool          // true: forward the client's Host; false: use the URL's host
	FlushInterval  time.Duration // 0 = default 100ms; <0 = flush after every write
	PreservePath   bool          // keep the server URL's path prefix, joined like httputil does
}

// defaultFlushInterval bounds how long streamed bytes of a response with a
// known length may wait in the client-side buffer.
const defaultFlushInterval = 100 * time.Millisecond

// handler forwards to one Target. Everything that does not depend on the
// request (Host line, path prefix, pool) is prepared when it is built.
type handler struct {
	logger        *zap.Logger
	target        Target
	targetStr     string
	hp            *hostPool // HTTP/1.1 fast path; nil for h2c://
	h2            *h2Handler
	h2Only        bool   // h2c://: every request goes through h2
	urlHost       string // the URL's host[:port], for the Host header
	hostLine      string // "Host: <urlHost>\r\n"
	pathPrefix    string // escaped server path ending in "/", or ""
	flushInterval time.Duration
	badURL        error
}

func (p *Pool) newHandler(t Target, opts TransportOptions) *handler {
	h := &handler{logger: p.logger, target: t, flushInterval: t.FlushInterval}
	if h.flushInterval == 0 {
		h.flushInterval = defaultFlushInterval
	}
	if t.URL == nil {
		h.badURL = errors.New("proxy: target without URL")
		return h
	}
	h.targetStr = t.URL.Redacted()
	scheme := strings.ToLower(t.URL.Scheme)
	port := t.URL.Port()
	switch scheme {
	case "http", "h2c":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
	default:
		h.badURL = errors.New("proxy: unsupported target scheme " + t.URL.Scheme)
		return h
	}
	hostname := t.URL.Hostname()
	if hostname == "" || !httpguts.ValidHostHeader(t.URL.Host) {
		h.badURL = errors.New("proxy: invalid target host " + t.URL.Host)
		return h
	}
	h.urlHost = t.URL.Host
	h.hostLine = "Host: " + t.URL.Host + "\r\n"
	if t.PreservePath && t.URL.Path != "" {
		h.pathPrefix = strings.TrimSuffix(t.URL.EscapedPath(), "/") + "/"
	}
	key := poolKey{scheme: scheme, addr: net.JoinHostPort(hostname, port), opts: opts.withDefaults()}
	switch scheme {
	case "http":
		h.hp = p.hostPoolFor(key, hostname)
	case "https":
		h.hp = p.hostPoolFor(key, hostname)
		h.h2 = newH2Handler(h, p.h2ProxyFor(key, hostname))
	case "h2c":
		h.h2 = newH2Handler(h, p.h2ProxyFor(key, hostname))
		h.h2Only = true
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		// Tunnelling is a forward-proxy feature; a reverse proxy refuses it.
		w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
		w.WriteHeader(http.StatusNotImplemented)
		_, _ = io.WriteString(w, "Not Implemented\n")
		return
	}
	if h.badURL != nil {
		writeError(h.logger, w, r, h.targetStr, h.badURL)
		return
	}
	if h.h2 != nil && (h.h2Only || isGRPC(r)) {
		h.h2.rp.ServeHTTP(w, r)
		return
	}
	o := outRequest{r: r, upgrade: upgradeType(r)}
	o.hasBody = r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	o.chunked = o.hasBody && (r.ContentLength < 0 || len(r.Trailer) > 0)

	c, stop, err := h.exchange(w, &o)
	if err != nil {
		writeError(h.logger, w, r, h.targetStr, err)
		return
	}
	if c.head.status == http.StatusSwitchingProtocols {
		h.serveUpgrade(w, r, &o, c, stop)
		return
	}
	if o.upgrade != "" {
		// Upgrade connections are never pooled, even when the server
		// declined to switch.
		c.head.close = true
	}
	h.finish(w, r, c, stop)
}

// isGRPC reports a gRPC request, which needs HTTP/2 end to end.
func isGRPC(r *http.Request) bool {
	if r.ProtoMajor != 2 {
		return false
	}
	ct := r.Header["Content-Type"]
	return len(ct) > 0 && strings.HasPrefix(ct[0], "application/grpc")
}

// watch makes a cancelled request context unblock any read or write on c,
// without a goroutine: context.AfterFunc runs only on cancellation. The
// returned stop reports false when the callback ran, i.e. c's deadline is
// poisoned and c must not be reused.
func watch(ctx context.Context, c *conn) func() bool {
	if ctx.Done() == nil {
		return nil
	}
	return context.AfterFunc(ctx, c.poison)
}

var aLongTimeAgo = time.Unix(1, 0)

// exchange sends the request and reads the final response head (1xx
// responses other than 101 are handled here). On success the caller owns c
// and must call stop (if not nil) before reusing or closing it.
func (h *handler) exchange(w http.ResponseWriter, o *outRequest) (*conn, func() bool, error) {
	ctx := o.r.Context()
	for attempt := 0; ; attempt++ {
		var c *conn
		if attempt == 0 && o.upgrade == "" {
			c = h.hp.get(time.Now())
		}
		if c == nil {
			var err error
			if c, err = h.hp.dial(ctx); err != nil {
				return nil, nil, contextError(ctx, err)
			}
		}
		stop := watch(ctx, c)
		wrote := false
		err := h.writeRequest(c, o)
		if err == nil {
			wrote = true
			err = h.readHead(c, w, o)
		}
		if err == nil {
			return c, stop, nil
		}
		if stop != nil {
			stop()
		}
		c.close()
		if attempt == 0 && h.canRetry(ctx, o, c, wrote, err) {
			continue
		}
		return nil, nil, contextError(ctx, err)
	}
}

// canRetry decides whether a failed exchange on a reused connection is the
// stale keep-alive race and may be replayed on a fresh connection: nothing
// of the response arrived, the request body was not consumed, and the
// request is idempotent or provably never reached the server.
func (h *handler) canRetry(ctx context.Context, o *outRequest, c *conn, wrote bool, err error) bool {
	if !c.reused || ctx.Err() != nil || o.bodyRead {
		return false
	}
	if isRequestError(err) {
		return false
	}
	var nr *noResponseError
	if wrote && !errors.As(err, &nr) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return c.written == 0 || isIdempotent(o.r)
}

func isRequestError(err error) bool {
	switch err {
	case errBodyTooShort, errInvalidHeader, errInvalidMethod, errInvalidHost:
		return true
	}
	var be *clientBodyError
	return errors.As(err, &be)
}

// clientBodyError is a failure to read the inbound request body.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "proxy: reading request body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

func isIdempotent(r *http.Request) bool {
	switch r.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return r.Header["Idempotency-Key"] != nil || r.Header["X-Idempotency-Key"] != nil
}

// readHead reads response heads until a final one (or a 101), forwarding
// 103 Early Hints and skipping other 1xx.
func (h *handler) readHead(c *conn, w http.ResponseWriter, o *outRequest) error {
	ctx := o.r.Context()
	timeout := h.hp.opts.ResponseHeaderTimeout
	if timeout > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
		// A cancellation that fired before the line above was overwritten.
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for i := 0; ; i++ {
		err := readResponseHead(c.br, &c.head, o.r.Method)
		if err != nil {
			var nr *noResponseError
			if i > 0 && errors.As(err, &nr) {
				err = nr.err
			}
			var ne net.Error
			if timeout > 0 && ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
				return errResponseHeaderTimeout
			}
			return err
		}
		st := c.head.status
		if st >= 200 {
			break
		}
		if st == http.StatusSwitchingProtocols {
			if o.upgrade == "" {
				return errUnexpected101
			}
			break
		}
		if i >= 10 {
			return errTooMany1xx
		}
		if st == http.StatusEarlyHints {
			forwardEarlyHints(w, &c.head)
		}
	}
	if timeout > 0 {
		_ = c.nc.SetReadDeadline(time.Time{})
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// forwardEarlyHints sends a 103. net/http keeps the header map after a 1xx,
// so the handler's headers are restored afterwards instead of leaking the
// hints into the final response.
func forwardEarlyHints(w http.ResponseWriter, head *respHead) {
	hdr := w.Header()
	saved := hdr.Clone()
	head.copyHeaders(hdr)
	w.WriteHeader(http.StatusEarlyHints)
	clear(hdr)
	for k, v := range saved {
		hdr[k] = v
	}
}

// finish sends the response head and body, then pools or closes c.
func (h *handler) finish(w http.ResponseWriter, r *http.Request, c *conn, stop func() bool) {
	head := &c.head
	head.copyHeaders(w.Header())
	w.WriteHeader(head.status)
	upstreamErr, clientErr := h.copyBody(w, c)
	reusable := upstreamErr == nil && clientErr == nil && !head.close
	if stop != nil && !stop() {
		reusable = false
	}
	if reusable {
		h.hp.put(c, time.Now())
	} else {
		c.close()
	}
	if upstreamErr != nil && clientErr == nil && r.Context().Err() == nil {
		logAbort(h.logger, r, h.targetStr, upstreamErr)
		// Headers are out: abort so the client sees a truncated response
		// rather than a complete-looking one.
		panic(http.ErrAbortHandler)
	}
}

// bodyWriter writes the response body to the client and decides when to
// flush. It only flushes when the next upstream read would block, so bytes
// that arrive together leave together.
type bodyWriter struct {
	w         http.ResponseWriter
	eager     bool // flush whenever the upstream has nothing buffered
	every     bool // flush after every write
	interval  time.Duration
	dirty     bool
	lastFlush time.Time
}

func (bw *bodyWriter) write(p []byte) error {
	if _, err := bw.w.Write(p); err != nil {
		return err
	}
	bw.dirty = true
	if bw.every {
		return bw.flush()
	}
	return nil
}

// beforeBlock is called when the upstream reader has no buffered bytes and
// more body is expected.
func (bw *bodyWriter) beforeBlock() error {
	if !bw.dirty {
		return nil
	}
	if bw.eager {
		return bw.flush()
	}
	// The first stall flushes at once (time to first byte matters); later
	// ones at most once per interval.
	if bw.lastFlush.IsZero() || time.Since(bw.lastFlush) >= bw.interval {
		return bw.flush()
	}
	return nil
}

func (bw *bodyWriter) flush() error {
	bw.dirty = false
	bw.lastFlush = time.Now()
	switch f := bw.w.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	if err := http.NewResponseController(bw.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// copyBody streams the response body. upstreamErr means the body could not
// be read to its end; clientErr means the client could not take it.
func (h *handler) copyBody(w http.ResponseWriter, c *conn) (upstreamErr, clientErr error) {
	head := &c.head
	if head.framing == framingNone {
		return nil, nil
	}
	bw := bodyWriter{
		w:        w,
		every:    h.flushInterval < 0,
		eager:    head.eventStream || head.framing != framingLength,
		interval: h.flushInterval,
	}
	br := c.br
	switch head.framing {
	case framingLength:
		return copyN(&bw, br, head.contentLength, false)
	case framingClose:
		return copyN(&bw, br, math.MaxInt64, true)
	}
	for {
		if br.Buffered() == 0 {
			if err := bw.beforeBlock(); err != nil {
				return nil, err
			}
		}
		size, err := readChunkSize(br)
		if err != nil {
			return unexpectedEOF(err), nil
		}
		if size == 0 {
			if err := readTrailers(br, &head.buf, w.Header()); err != nil {
				return unexpectedEOF(err), nil
			}
			return nil, nil
		}
		if upstreamErr, clientErr = copyN(&bw, br, size, false); upstreamErr != nil || clientErr != nil {
			return upstreamErr, clientErr
		}
		if br.Buffered() < 2 {
			if err := bw.beforeBlock(); err != nil {
				return nil, err
			}
		}
		if err := readCRLF(br); err != nil {
			return unexpectedEOF(err), nil
		}
	}
}

// copyN copies n bytes (or up to EOF when untilEOF) from br to bw. Bytes
// already buffered are written straight from the bufio buffer; an empty
// buffer is refilled directly into a pooled 32 KiB buffer for large bodies.
func copyN(bw *bodyWriter, br *bufio.Reader, n int64, untilEOF bool) (upstreamErr, clientErr error) {
	var bp *[]byte
	defer func() {
		if bp != nil {
			copyBufPool.Put(bp)
		}
	}()
	for n > 0 {
		if k := br.Buffered(); k > 0 {
			k = int(min(int64(k), n))
			p, _ := br.Peek(k)
			if err := bw.write(p); err != nil {
				return nil, err
			}
			_, _ = br.Discard(k)
			n -= int64(k)
			continue
		}
		if err := bw.beforeBlock(); err != nil {
			return nil, err
		}
		if n >= int64(br.Size()) {
			if bp == nil {
				bp = copyBufPool.Get().(*[]byte)
			}
			buf := *bp
			m, err := br.Read(buf[:min(int64(len(buf)), n)])
			if m > 0 {
				if werr := bw.write(buf[:m]); werr != nil {
					return nil, werr
				}
				n -= int64(m)
			}
			if err != nil {
				if err == io.EOF && untilEOF {
					return nil, nil
				}
				return unexpectedEOF(err), nil
			}
			continue
		}
		if _, err := br.Peek(1); err != nil {
			if err == io.EOF && untilEOF {
				return nil, nil
			}
			return unexpectedEOF(err), nil
		}
	}
	return nil, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// upgradeType returns the protocol a request asks to switch to, if it is
// one this proxy forwards. h2c is never forwarded: it would turn the
// upstream connection into HTTP/2 behind the client's back.
func upgradeType(r *http.Request) string {
	up := r.Header["Upgrade"]
	if len(up) == 0 || up[0] == "" {
		return ""
	}
	if !httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") {
		return ""
	}
	if strings.EqualFold(strings.TrimSpace(up[0]), "h2c") || !httpguts.ValidHeaderFieldValue(up[0]) {
		return ""
	}
	return up[0]
}
