package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Connection states, for Shutdown: only a connection that is between
// requests may be closed under a client's feet.
const (
	stateNew int32 = iota
	stateIdle
	stateActive
	stateClosing // Shutdown closed it while idle
)

// Background read states (see the client-disconnect notes in server.go).
const (
	bgOff      int32 = iota // no handler running
	bgHandler               // handler running, request body not consumed yet
	bgEligible              // handler running, body consumed: may start a read
	bgRunning               // a background read goroutine is running
)

const bufSize = 4 << 10

// conn is the per-connection state. It is pooled with its buffers.
type conn struct {
	srv        *Server
	rwc        net.Conn
	br         *bufio.Reader // reads through (*connReader)(c)
	bw         *bufio.Writer
	bodyBuf    []byte // response body buffer, bodyBufSize
	scratch    []byte // for heads larger than br's buffer
	remoteAddr string
	baseCtx    context.Context
	tlsState   *tls.ConnectionState
	resp       response

	nreq     int
	rdSet    bool // a read deadline is set on rwc
	hijacked bool

	state atomic.Int32

	// Background read (client disconnect detection).
	bg        atomic.Int32
	bgTick    atomic.Int64
	bgDone    chan struct{}
	bgByte    [1]byte
	bgHasByte bool
	bgErr     error
	cancel    context.CancelFunc
}

var connPool = sync.Pool{New: func() any {
	c := &conn{
		bodyBuf: make([]byte, 0, bodyBufSize),
		bgDone:  make(chan struct{}, 1),
	}
	c.br = bufio.NewReaderSize((*connReader)(c), bufSize)
	c.bw = bufio.NewWriterSize(nil, bufSize)
	return c
}}

// connReader is the conn seen as the reader under br: it first hands out the
// byte a background read may have consumed.
type connReader conn

func (r *connReader) Read(p []byte) (int, error) {
	c := (*conn)(r)
	if c.bgHasByte && len(p) > 0 {
		p[0] = c.bgByte[0]
		c.bgHasByte = false
		return 1, nil
	}
	if c.bgErr != nil {
		return 0, c.bgErr
	}
	return c.rwc.Read(p)
}

func newConn(s *Server, rwc net.Conn) *conn {
	c := connPool.Get().(*conn)
	c.srv = s
	c.rwc = rwc
	c.br.Reset((*connReader)(c))
	c.bw.Reset(rwc)
	c.remoteAddr = rwc.RemoteAddr().String()
	c.baseCtx = context.WithValue(s.baseContext(), http.LocalAddrContextKey, rwc.LocalAddr())
	c.tlsState = nil
	if tc, ok := rwc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tlsState = &st
	}
	c.nreq = 0
	c.rdSet = false
	c.hijacked = false
	c.state.Store(stateNew)
	c.bg.Store(bgOff)
	c.bgHasByte = false
	c.bgErr = nil
	return c
}

// release returns the conn to the pool unless something may still hold it.
func (c *conn) release() {
	if c.hijacked {
		// The hijacker owns br and bw (and br reads through c).
		return
	}
	c.resp.req, c.resp.body = nil, nil
	c.rwc, c.srv, c.baseCtx, c.cancel = nil, nil, nil, nil
	c.remoteAddr = ""
	c.tlsState = nil
	c.br.Reset((*connReader)(c))
	c.bw.Reset(nil)
	if cap(c.scratch) > 64<<10 {
		c.scratch = nil
	}
	connPool.Put(c)
}

// activate marks the connection busy; it fails if Shutdown closed it.
func (c *conn) activate() bool {
	for {
		st := c.state.Load()
		switch st {
		case stateClosing:
			return false
		case stateActive:
			return true
		}
		if c.state.CompareAndSwap(st, stateActive) {
			c.srv.connState(c.rwc, http.StateActive)
			return true
		}
	}
}

func (c *conn) setIdle() {
	if c.state.CompareAndSwap(stateActive, stateIdle) {
		c.srv.connState(c.rwc, http.StateIdle)
	}
}

// serve runs the request loop.
func (c *conn) serve() {
	s := c.srv
	hdrTO := s.readHeaderTimeout()
	idleTO := s.idleTimeout()
	maxHead := s.maxHeaderBytes()
	for first := true; ; first = false {
		if c.br.Buffered() == 0 && !first {
			// Waiting for the next request: the connection is idle.
			if c.bw.Buffered() > 0 {
				if c.bw.Flush() != nil {
					return
				}
			}
			c.setIdle()
			if s.shuttingDown() {
				return
			}
			if idleTO > 0 {
				c.rwc.SetReadDeadline(time.Now().Add(idleTO))
				c.rdSet = true
			} else if c.rdSet {
				c.rwc.SetReadDeadline(time.Time{})
				c.rdSet = false
			}
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		}

		var start time.Time
		if hdrTO > 0 || s.ReadTimeout > 0 {
			start = time.Now()
		}
		if hdrTO > 0 {
			c.rwc.SetReadDeadline(start.Add(hdrTO))
			c.rdSet = true
		} else if c.rdSet {
			c.rwc.SetReadDeadline(time.Time{})
			c.rdSet = false
		}
		head, err := readHead(c.br, c.bw, maxHead, &c.scratch)
		if err != nil {
			var pe *parseError
			if errors.As(err, &pe) && c.activate() {
				c.writeError(pe)
			}
			return
		}
		if !c.activate() {
			return
		}
		if s.ReadTimeout > 0 {
			if hdrTO != s.ReadTimeout {
				c.rwc.SetReadDeadline(start.Add(s.ReadTimeout))
			}
		} else if c.rdSet {
			c.rwc.SetReadDeadline(time.Time{})
			c.rdSet = false
		}
		if s.WriteTimeout > 0 {
			c.rwc.SetWriteDeadline(time.Now().Add(s.WriteTimeout))
		}

		rs := new(reqState)
		var ph parsedHead
		if err := parseRequest(rs, head, &ph); err != nil {
			c.writeError(err.(*parseError))
			return
		}
		c.nreq++
		if !c.serveRequest(rs, &ph) {
			return
		}
	}
}

// serveRequest runs the handler for one parsed request and reports whether
// the connection may serve another.
func (c *conn) serveRequest(rs *reqState, ph *parsedHead) (keepAlive bool) {
	s := c.srv
	ctx, cancel := context.WithCancel(c.baseCtx)
	// WithContext is the only way to set the request's context; copying
	// the result back keeps the request inside rs (the copy stays on the
	// stack).
	rs.req = *rs.req.WithContext(ctx)
	req := &rs.req
	req.RemoteAddr = c.remoteAddr
	req.TLS = c.tlsState

	var b *body
	if req.ContentLength != 0 {
		b = &rs.body
		b.c = c
		b.req = req
		b.expectContinue = ph.expectContinue
		if req.ContentLength < 0 {
			b.chunked = true
			b.cr.init(c.br, bufSize)
		} else {
			b.remaining = req.ContentLength
		}
		req.Body = b
		// The handler will read from the network: do not let a
		// pipelined batch's responses wait for it.
		if c.bw.Buffered() > 0 {
			c.bw.Flush()
		}
	} else {
		req.Body = http.NoBody
	}

	w := &c.resp
	w.reset(c, req, b, ph)

	c.cancel = cancel
	c.bgTick.Store(s.tick.Load())
	if b == nil {
		c.bg.Store(bgEligible)
	} else {
		c.bg.Store(bgHandler)
	}
	if s.eagerBackgroundRead {
		c.startBackgroundRead()
	}

	ok := c.callHandler(w, req)
	c.stopBackgroundRead()
	if c.hijacked {
		cancel()
		return false
	}
	if !ok {
		cancel()
		return false
	}
	w.finish()
	cancel()
	if c.bgErr != nil || w.closeAfter {
		c.finalFlush(w)
		return false
	}
	if c.br.Buffered() == 0 {
		// Flush at the end of a batch: pipelined requests already
		// buffered are answered with one write.
		if c.bw.Flush() != nil {
			return false
		}
	}
	return true
}

// finalFlush sends the last response of a connection. If the request body
// was not fully read, the client may still be sending: half-close and drain
// a little so that the kernel does not answer with a reset that would
// destroy the response in flight.
func (c *conn) finalFlush(w *response) {
	if c.bw.Flush() != nil {
		return
	}
	if c.bgErr == nil && (c.br.Buffered() > 0 || (w.body != nil && !w.body.bodyComplete())) {
		c.closeWriteAndDrain()
	}
}

// callHandler runs the handler, recovering from panics, and reports whether
// it returned normally.
func (c *conn) callHandler(w *response, req *http.Request) (ok bool) {
	defer func() {
		if !ok {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				c.srv.logPanic(v, req)
			}
		}
	}()
	c.srv.handler().ServeHTTP(w, req)
	return true
}

// startBackgroundRead starts the one-byte read that notices a client
// closing the connection while the handler runs. It only starts once the
// request body has been consumed, since it competes with body reads.
func (c *conn) startBackgroundRead() {
	if c.bg.CompareAndSwap(bgEligible, bgRunning) {
		go c.backgroundRead()
	}
}

func (c *conn) backgroundRead() {
	n, err := c.rwc.Read(c.bgByte[:])
	if n == 1 {
		c.bgHasByte = true
	}
	if err != nil {
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, os.ErrDeadlineExceeded) {
			// The client went away (EOF or reset): cancel the request.
			// A timeout is either our own abort or ReadTimeout firing; it
			// says nothing about the client.
			c.bgErr = err
			c.cancel()
		}
	}
	c.bgDone <- struct{}{}
}

// stopBackgroundRead ends the handler phase, aborting a running background
// read and waiting for it.
func (c *conn) stopBackgroundRead() {
	if c.bg.Swap(bgOff) != bgRunning {
		return
	}
	c.rwc.SetReadDeadline(aLongTimeAgo)
	<-c.bgDone
	c.rwc.SetReadDeadline(time.Time{})
	c.rdSet = false
}

var aLongTimeAgo = time.Unix(1, 0)

func (c *conn) hijack() {
	c.hijacked = true
	c.srv.connState(c.rwc, http.StateHijacked)
	c.srv.untrack(c)
}

// writeError answers a request the server refuses and closes the connection.
func (c *conn) writeError(pe *parseError) {
	text := http.StatusText(pe.code)
	body := strconv.Itoa(pe.code) + " " + text + ": " + pe.reason + "\n"
	bw := c.bw
	bw.WriteString(statusLine(pe.code))
	bw.WriteString("Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ")
	bw.WriteString(strconv.Itoa(len(body)))
	bw.WriteString("\r\n\r\n")
	bw.WriteString(body)
	if bw.Flush() == nil {
		c.closeWriteAndDrain()
	}
}

// closeWriteAndDrain half-closes the connection and reads (bounded in time
// and bytes) until the client closes, so that the response just written is
// not destroyed by a TCP reset caused by unread input.
func (c *conn) closeWriteAndDrain() {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := c.rwc.(closeWriter)
	if !ok {
		return
	}
	if cw.CloseWrite() != nil {
		return
	}
	c.rwc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	c.br.Reset(c.rwc)
	io.CopyN(io.Discard, c.br, 1<<20)
}

// close closes the underlying connection unless it was hijacked.
func (c *conn) close() {
	if c.hijacked {
		return
	}
	c.rwc.Close()
	c.srv.connState(c.rwc, http.StateClosed)
	c.srv.untrack(c)
}

// logger is the zap logger or a no-op one.
func (s *Server) logger() *zap.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return zap.NewNop()
}
