package h1

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bodyBufSize is how much body a response buffers before it commits to
// chunked encoding. A handler that writes at most this much and returns gets
// a Content-Length response, which is cheaper for everyone downstream.
const bodyBufSize = 4 << 10

var errHandlerDone = errors.New("h1: ResponseWriter used after the handler returned")

// response implements http.ResponseWriter and the optional interfaces that
// http.ResponseController looks for. One lives in each conn and is reused for
// every request, with its header map: net/http forbids using a
// ResponseWriter after ServeHTTP returns, which makes the reuse safe.
type response struct {
	c      *conn
	req    *http.Request
	body   *body // nil when the request has no body
	header http.Header

	status        int
	contentLength int64 // handler-declared Content-Length, -1 if none
	written       int64 // body bytes accepted by Write
	buf           []byte

	wroteHeader bool // the handler's status is known (final response)
	committed   bool // the status line and header are in the conn's writer
	handlerDone bool
	hijacked    bool
	isHead      bool
	bodyAllowed bool // the status allows a body
	chunking    bool
	closeAfter  bool // the connection must be closed after this response
	fullDuplex  bool
	keepAlive10 bool // HTTP/1.0 request that asked for keep-alive

	// continueMu orders the "100 Continue" sent from the body reader, which
	// may run on another goroutine, with the final response header.
	continueMu  sync.Mutex
	canContinue bool
	expectsCont bool
}

func (w *response) reset(c *conn, req *http.Request, b *body, ph *parsedHead) {
	h := w.header
	if h == nil {
		h = make(http.Header)
	} else {
		clear(h)
	}
	*w = response{
		c:             c,
		req:           req,
		body:          b,
		header:        h,
		contentLength: -1,
		buf:           c.bodyBuf[:0],
		isHead:        req.Method == http.MethodHead,
		keepAlive10:   ph.keepAlive10,
		expectsCont:   ph.expectContinue && b != nil,
		canContinue:   ph.expectContinue && b != nil,
	}
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.hijacked || w.handlerDone {
		return
	}
	if w.wroteHeader {
		// Superfluous calls are ignored, as net/http does.
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	if w.expectsCont {
		w.continueMu.Lock()
		w.canContinue = false
		w.continueMu.Unlock()
	}
	w.wroteHeader = true
	w.status = code
	w.bodyAllowed = bodyAllowedForStatus(code)
	if v, ok := w.header["Content-Length"]; ok {
		if n, valid := parseCLValues(v); valid {
			w.contentLength = n
		} else {
			delete(w.header, "Content-Length")
		}
	}
}

func parseCLValues(v []string) (int64, bool) {
	if len(v) != 1 {
		return 0, false
	}
	return parseContentLength(strings.TrimSpace(v[0]))
}

// writeInformational sends a 1xx response (103 Early Hints, 100 Continue)
// at once, with the header fields set so far.
func (w *response) writeInformational(code int) {
	if w.req.ProtoMinor == 0 {
		// RFC 9110 section 15.2: no 1xx to HTTP/1.0 clients.
		return
	}
	if w.expectsCont {
		w.continueMu.Lock()
		defer w.continueMu.Unlock()
		if code == http.StatusContinue {
			if !w.canContinue {
				return
			}
			w.canContinue = false
		}
	}
	bw := w.c.bw
	bw.WriteString(statusLine(code))
	for k, vv := range w.header {
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	bw.WriteString("\r\n")
	bw.Flush()
}

// writeContinue is called by the body's first Read.
func (w *response) writeContinue() {
	w.continueMu.Lock()
	if w.canContinue {
		w.canContinue = false
		w.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		w.c.bw.Flush()
	}
	w.continueMu.Unlock()
}

// Write modes decided by prepWrite.
const (
	wrDrop   = iota // accepted and discarded (HEAD, empty write)
	wrBuffer        // goes to the pre-commit buffer
	wrDirect        // goes to the connection's writer, framed
)

// prepWrite does the checks and accounting shared by Write and WriteString.
func (w *response) prepWrite(n int) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if w.handlerDone {
		return 0, errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if n == 0 {
		return wrDrop, nil
	}
	if !w.bodyAllowed {
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(n) > w.contentLength {
		return 0, http.ErrContentLength
	}
	w.written += int64(n)
	if w.isHead {
		// The body of a HEAD response is counted (for Content-Length)
		// and dropped.
		return wrDrop, nil
	}
	if !w.committed {
		if w.contentLength < 0 && len(w.buf)+n <= cap(w.buf) {
			return wrBuffer, nil
		}
		w.commit(false)
	}
	return wrDirect, nil
}

// Write and WriteString below are the same code for []byte and string. They
// are kept apart on purpose: the shared logic already lives in prepWrite and
// afterDirect, and folding the rest into one helper would need a conversion
// between string and []byte (an allocation and copy per write) or a generic
// helper that switches on the type or calls through a func value, all on the
// hottest path of the server. Change them together.
func (w *response) Write(p []byte) (int, error) {
	mode, err := w.prepWrite(len(p))
	if err != nil {
		return 0, err
	}
	switch mode {
	case wrBuffer:
		w.buf = append(w.buf, p...)
	case wrDirect:
		bw := w.c.bw
		if w.chunking {
			writeChunkHeader(bw, len(p))
		}
		bw.Write(p)
		return w.afterDirect(len(p))
	}
	return len(p), nil
}

// WriteString avoids the []byte conversion io.WriteString would make.
func (w *response) WriteString(s string) (int, error) {
	mode, err := w.prepWrite(len(s))
	if err != nil {
		return 0, err
	}
	switch mode {
	case wrBuffer:
		w.buf = append(w.buf, s...)
	case wrDirect:
		bw := w.c.bw
		if w.chunking {
			writeChunkHeader(bw, len(s))
		}
		bw.WriteString(s)
		return w.afterDirect(len(s))
	}
	return len(s), nil
}

// afterDirect ends a chunk if chunking and reports the writer's sticky error.
func (w *response) afterDirect(n int) (int, error) {
	bw := w.c.bw
	var err error
	if w.chunking {
		_, err = bw.WriteString("\r\n")
	} else {
		// bufio.Writer errors are sticky; Flush of an empty buffer only
		// reports them.
		if bw.Buffered() == 0 {
			err = bw.Flush()
		}
	}
	if err != nil {
		w.closeAfter = true
		return 0, err
	}
	return n, nil
}

// commit writes the status line and header to the connection's writer and
// then any buffered body. final says the handler has returned, so the body
// is complete and its length known.
func (w *response) commit(final bool) {
	w.committed = true
	c := w.c
	req := w.req
	h := w.header

	if w.body != nil && (!w.fullDuplex || final) {
		// RFC 9112 section 9.3: read the request before answering when
		// that is cheap, so that the connection can be reused; else close.
		if !w.body.discard(maxPostHandlerReadBytes) {
			w.closeAfter = true
		}
	}
	if req.Close || c.srv.shuttingDown() ||
		(c.srv.MaxKeepAliveRequests > 0 && c.nreq >= c.srv.MaxKeepAliveRequests) ||
		w.status == http.StatusSwitchingProtocols {
		w.closeAfter = true
	}
	if v, ok := h["Connection"]; ok && headerHasToken(v, "close") {
		w.closeAfter = true
	}

	// Framing. The header map's own Content-Length and Transfer-Encoding
	// are never copied: the framing we write is the one we enforce.
	const (
		frameNone = iota
		frameCL
		frameChunked
	)
	frame := frameNone
	var cl int64
	switch {
	case !w.bodyAllowed:
	case w.contentLength >= 0:
		frame, cl = frameCL, w.contentLength
	case w.isHead:
		if final && w.written > 0 {
			frame, cl = frameCL, w.written
		}
	case final:
		frame, cl = frameCL, int64(len(w.buf))
		if req.ProtoMinor == 1 {
			if _, ok := h["Trailer"]; ok {
				frame = frameChunked
			}
		}
	case req.ProtoMinor == 1:
		frame = frameChunked
	default:
		// HTTP/1.0 and an unknown length: the body ends with the connection.
		w.closeAfter = true
	}

	bw := c.bw
	bw.WriteString(statusLine(w.status))
	hasDate := false
	hasConn := false
	prefixTrailers := false
	for k, vv := range h {
		switch k {
		case "Content-Length", "Transfer-Encoding":
			continue
		case "Date":
			hasDate = true
		case "Connection":
			if w.closeAfter {
				continue
			}
			hasConn = true
		default:
			if strings.HasPrefix(k, http.TrailerPrefix) {
				prefixTrailers = true
				continue
			}
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	if final && prefixTrailers && frame == frameCL && w.bodyAllowed && !w.isHead &&
		req.ProtoMinor == 1 && w.contentLength < 0 {
		frame = frameChunked
	}

	// Build the trailing fields in the writer's own buffer: a local array
	// would escape through bufio.Writer.Write and cost an allocation.
	if bw.Available() < 128 {
		bw.Flush()
	}
	b := bw.AvailableBuffer()
	if !hasDate {
		b = append(b, "Date: "...)
		b = appendDate(b)
		b = append(b, "\r\n"...)
	}
	switch frame {
	case frameCL:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, cl, 10)
		b = append(b, "\r\n"...)
	case frameChunked:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
		w.chunking = !w.isHead
	}
	if w.closeAfter {
		b = append(b, "Connection: close\r\n"...)
	} else if w.keepAlive10 && !hasConn {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, "\r\n"...)
	bw.Write(b)

	if len(w.buf) > 0 {
		if w.chunking {
			writeChunkHeader(bw, len(w.buf))
			bw.Write(w.buf)
			bw.WriteString("\r\n")
		} else {
			bw.Write(w.buf)
		}
		w.buf = w.buf[:0]
	}
}

func headerHasToken(vv []string, t string) bool {
	for _, v := range vv {
		if hasToken(v, t) {
			return true
		}
	}
	return false
}

// bodyAllowedForStatus reports whether a response with this status may have
// a body (RFC 9110 sections 15.2, 15.3.5 and 15.4.5).
func bodyAllowedForStatus(code int) bool {
	switch {
	case code >= 100 && code <= 199:
		return false
	case code == http.StatusNoContent, code == http.StatusNotModified:
		return false
	}
	return true
}

// statusLines caches "HTTP/1.1 NNN Reason\r\n" for every three-digit code.
var statusLines = func() (t [1000]string) {
	for code := 100; code < 1000; code++ {
		text := http.StatusText(code)
		if text == "" {
			text = "status code " + strconv.Itoa(code)
		}
		t[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
	}
	return t
}()

func statusLine(code int) string { return statusLines[code] }

// finish completes the response after the handler returned.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
	}
	if w.chunking {
		w.writeTrailers()
	}
	if w.bodyAllowed && !w.isHead && w.contentLength >= 0 && w.written != w.contentLength {
		// The client expects more bytes than it will get: the only way
		// to tell it the response is incomplete is to close.
		w.closeAfter = true
	}
	if w.body != nil && !w.closeAfter {
		if !w.body.discard(maxPostHandlerReadBytes) {
			w.closeAfter = true
		}
	}
	if w.body != nil {
		w.body.Close()
	}
	w.handlerDone = true
}

// writeTrailers ends a chunked body with the declared trailers and those set
// with http.TrailerPrefix.
func (w *response) writeTrailers() {
	bw := w.c.bw
	bw.WriteString("0\r\n")
	h := w.header
	for _, decl := range h["Trailer"] {
		for decl != "" {
			var k string
			k, decl, _ = strings.Cut(decl, ",")
			k = trimOWS(k)
			if k == "" || !validToken(k) {
				continue
			}
			for _, v := range h[canonicalKey(k)] {
				writeField(bw, k, v)
			}
		}
	}
	for k, vv := range h {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vv {
				writeField(bw, name, v)
			}
		}
	}
	bw.WriteString("\r\n")
}

// Flush sends what has been written so far, committing to chunked encoding
// if no Content-Length was set.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush for http.ResponseController, reporting write errors.
func (w *response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if w.handlerDone {
		return errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
	}
	if err := w.c.bw.Flush(); err != nil {
		w.closeAfter = true
		return err
	}
	return nil
}

// Hijack hands the connection to the handler. The returned reader holds any
// bytes already read past the request, which protocols such as WebSocket
// need; the server forgets the connection.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.handlerDone {
		return nil, nil, errHandlerDone
	}
	c := w.c
	c.stopBackgroundRead()
	if w.wroteHeader && !w.committed {
		w.commit(false)
	}
	if err := c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	w.hijacked = true
	c.hijack()
	c.rwc.SetDeadline(time.Time{})
	return c.rwc, bufio.NewReadWriter(c.br, c.bw), nil
}

// SetReadDeadline is for http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.rdSet = true
	return w.c.rwc.SetReadDeadline(t)
}

// SetWriteDeadline is for http.ResponseController.
func (w *response) SetWriteDeadline(t time.Time) error {
	return w.c.rwc.SetWriteDeadline(t)
}

// EnableFullDuplex lets the handler read the request body after it started
// writing the response; by default the unread body is discarded (up to a
// limit) when the response header is sent, as net/http does for HTTP/1.
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}
