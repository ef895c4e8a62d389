// Package reqinfo carries what berth learns about one request while it is
// served (the router and service that took it, the server it went to, the
// status it got, the retries it needed) from the entrypoint, where the
// request starts, to the access log and the metrics, where it ends.
//
// The record travels with the ResponseWriter rather than the request
// context: the entrypoint wraps the ResponseWriter once anyway (to learn the
// status and size of the response), and a context value would cost a copy
// of the *http.Request per request (r.WithContext) on a path that is
// otherwise allocation-light. Middlewares that wrap the ResponseWriter must
// implement `Unwrap() http.ResponseWriter` (which http.ResponseController
// needs too); From follows that chain.
//
// Writers are pooled: Acquire takes one, Release returns it once the
// request is completely done (after the access log line is formatted).
package reqinfo

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Protocol is the kind of exchange, as Traefik's `protocol` metric label
// names it.
type Protocol uint8

// Protocols, in the order of their label values.
const (
	ProtoHTTP Protocol = iota
	ProtoWebSocket
	ProtoSSE
	ProtoGRPC
	NumProtocols
)

var protoNames = [NumProtocols]string{"http", "websocket", "sse", "grpc"}

// String returns the label value: "http", "websocket", "sse" or "grpc".
func (p Protocol) String() string {
	if p < NumProtocols {
		return protoNames[p]
	}
	return "http"
}

// ProtocolOf classifies a request the way Traefik's metrics do.
func ProtocolOf(r *http.Request) Protocol {
	h := r.Header
	if up := h["Upgrade"]; len(up) > 0 && asciiEqualFold(up[0], "websocket") {
		return ProtoWebSocket
	}
	if ct := h["Content-Type"]; len(ct) > 0 && len(ct[0]) >= 16 && asciiEqualFold(ct[0][:16], "application/grpc") {
		return ProtoGRPC
	}
	if acc := h["Accept"]; len(acc) > 0 && asciiEqualFold(acc[0], "text/event-stream") {
		return ProtoSSE
	}
	return ProtoHTTP
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Record is what is known about one request. The entrypoint fills Start,
// EntryPoint and Protocol; routing fills Router, Service and Internal; the
// per-server observer fills ServiceURL and the Origin fields; the Writer
// fills Status and Size. Only the request's own goroutine touches it.
type Record struct {
	Start      time.Time
	EntryPoint string
	Protocol   Protocol
	RequestID  string

	Router   string
	Service  string
	Internal bool // served by one of berth's own services (ping, API, metrics)

	ServiceURL     string
	OriginStart    time.Time
	OriginDuration time.Duration
	OriginStatus   int

	// RetryAttempts is incremented by a retry middleware for each new
	// attempt; the service observer counts it in service_retries_total.
	RetryAttempts int

	// body counts the bytes read from a request body of unknown length
	// (see CountBody); RequestSize uses it.
	body *countingBody

	// Status and Size are what was sent to the client.
	Status   int
	Size     int64
	Hijacked bool

	// End is when serving finished; the innermost observer that needs it
	// sets it so that the outer ones reuse it instead of asking the clock
	// again.
	End time.Time
}

// EndTime returns End, setting it to now on first use.
func (rec *Record) EndTime() time.Time {
	if rec.End.IsZero() {
		rec.End = time.Now()
	}
	return rec.End
}

// RequestSize returns the size of r's body: its Content-Length when it
// declared one, else what was read of it (a chunked HTTP/1 body, or an
// HTTP/2 body without content-length, counted by CountBody).
func (rec *Record) RequestSize(r *http.Request) int64 {
	if r.ContentLength >= 0 {
		return r.ContentLength
	}
	if rec.body == nil {
		return 0
	}
	return rec.body.n.Load()
}

// CountBody makes rec count what is read from r's body when its length is
// not known in advance, so that metrics and the access log report the size
// of chunked uploads too. It replaces r.Body, as http.MaxBytesReader users
// do, and costs one small allocation, only for such requests.
func (rec *Record) CountBody(r *http.Request) {
	if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	rec.body = &countingBody{rc: r.Body}
	r.Body = rec.body
}

// countingBody counts the bytes read through it. The count lives here and
// not in the (pooled) Record, and is atomic, because an HTTP/2 transport may
// still be reading the body from its own goroutine after the handler has
// returned and the Record has been recycled.
type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// Writer wraps a ResponseWriter to record the status and size of the
// response, and carries the Record.
type Writer struct {
	http.ResponseWriter
	Record Record
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WriteHeader records the final status; 1xx answers pass through.
func (w *Writer) WriteHeader(code int) {
	if w.Record.Status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.commit(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

// commit records the final status and returns the request ID to the client
// unless the response already carries one (a backend that echoes the ID it
// received, as many frameworks do, must not produce two).
func (w *Writer) commit(code int) {
	w.Record.Status = code
	if id := w.Record.RequestID; id != "" {
		h := w.ResponseWriter.Header()
		if _, ok := h[RequestIDHeader]; !ok {
			h[RequestIDHeader] = []string{id}
		}
	}
}

// RequestIDHeader carries the request ID to the backend and the client.
const RequestIDHeader = "X-Request-Id"

// Write records the size and, as net/http does, an implicit 200.
func (w *Writer) Write(p []byte) (int, error) {
	if w.Record.Status == 0 {
		w.commit(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.Record.Size += int64(n)
	return n, err
}

// WriteString avoids a copy when the wrapped writer has WriteString.
func (w *Writer) WriteString(s string) (int, error) {
	if w.Record.Status == 0 {
		w.commit(http.StatusOK)
	}
	var n int
	var err error
	if sw, ok := w.ResponseWriter.(interface {
		WriteString(string) (int, error)
	}); ok {
		n, err = sw.WriteString(s)
	} else {
		n, err = w.ResponseWriter.Write([]byte(s))
	}
	w.Record.Size += int64(n)
	return n, err
}

// FlushError flushes the wrapped writer.
func (w *Writer) FlushError() error {
	if w.Record.Status == 0 {
		w.commit(http.StatusOK)
	}
	// The direct cases avoid allocating a ResponseController on a path
	// that streaming responses take for every chunk.
	switch f := w.ResponseWriter.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush flushes the wrapped writer, ignoring errors as http.Flusher does.
func (w *Writer) Flush() { _ = w.FlushError() }

// Hijack takes over the connection. berth hijacks only to forward an
// upgrade the backend accepted, writing the 101 itself on the raw
// connection, so a hijack records status 101.
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.Record.Hijacked = true
		if w.Record.Status == 0 {
			w.Record.Status = http.StatusSwitchingProtocols
		}
	}
	return c, brw, err
}

var writerPool = sync.Pool{New: func() any { return new(Writer) }}

// Acquire returns a pooled Writer around w, its Record reset with Start set
// to start.
func Acquire(w http.ResponseWriter, start time.Time) *Writer {
	rw := writerPool.Get().(*Writer)
	rw.ResponseWriter = w
	rw.Record = Record{Start: start}
	return rw
}

// Release returns a Writer to the pool. Nothing may use it afterwards.
func Release(w *Writer) {
	w.ResponseWriter = nil
	w.Record = Record{}
	writerPool.Put(w)
}

// From returns the Record carried by w or by a writer it wraps (followed
// through Unwrap), or nil when the request is not observed.
func From(w http.ResponseWriter) *Record {
	for range 16 {
		switch x := w.(type) {
		case *Writer:
			return &x.Record
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
	return nil
}

var (
	_ http.ResponseWriter = (*Writer)(nil)
	_ http.Flusher        = (*Writer)(nil)
	_ http.Hijacker       = (*Writer)(nil)
)
