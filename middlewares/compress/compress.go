// Package compress implements Traefik's compress middleware: responses are
// compressed with gzip, Brotli or Zstandard, chosen from the request's
// Accept-Encoding header.
//
// A response is compressed only when all of these hold:
//
//   - the request is not HEAD, CONNECT, an Upgrade (WebSocket) or a Range
//     request, and its Content-Type is not excluded (gRPC is never
//     compressed);
//   - the client accepts one of the configured encodings (q-values are
//     honoured: q=0 refuses an encoding, "*" stands for the ones not named,
//     identity ranked above all of them refuses compression);
//   - the status allows a body and is not 206 Partial Content, and the
//     response has no Content-Encoding, no Content-Range and no
//     "Cache-Control: no-transform";
//   - its Content-Type (sniffed when the backend sent none) is not excluded,
//     or is included;
//   - its body reaches minResponseBodyBytes.
//
// The first minResponseBodyBytes of the body are held back until that is
// known, unless the backend declared a Content-Length. A handler that
// finishes before that point gets its response sent as it is, uncompressed.
// A handler that flushes before that point gets the decision made at once,
// as Traefik and nginx do: the bytes go out promptly, compressed if the
// response is otherwise eligible. Sending them uncompressed instead would
// make compression depend on timing, since berth's proxy flushes whenever
// the backend pauses. Event streams are not compressed by default, so they
// pass through untouched.
//
// A compressed response loses its Content-Length and Accept-Ranges, gets
// Content-Encoding and "Vary: Accept-Encoding", and a strong ETag becomes
// weak, as nginx does: the compressed bytes are not those the strong
// validator names, but they are semantically the same resource, so
// conditional requests (If-None-Match) keep working.
package compress

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The levels trade CPU for size on every response, since the compression
// is done on the fly, not once ahead of time. Each is near the knee of its
// speed/size curve, where a higher level costs much more CPU for a few
// percent of size. (Measured on 1 MiB of generated JSON: gzip 5 gives 7.9%
// of the original at about 500 MB/s; Brotli 4, 5.6% at about 110 MB/s;
// zstd default, 6.1% at about 550 MB/s. Brotli 6, this library's default
// and Traefik's, is two to three times slower than 4 again.)
const (
	// gzipLevel 5 is what klauspost/compress maps "default" to: level
	// 6 is a quarter slower for output smaller by well under 1%.
	gzipLevel = 5
	// brotliQuality 4 is the usual choice for on-the-fly Brotli (the
	// reference encoder's 11 is meant for static files compressed once).
	brotliQuality = 4
	// brotliWindowLog 18 (256 KiB) bounds the memory each in-flight
	// Brotli stream holds: the library's default window for quality 4 is
	// 4 MiB, and with it an encoder keeps more than twice the memory
	// after a large body, for no gain in size on bodies of web size.
	brotliWindowLog = 18
	// zstdWindowSize bounds the memory each in-flight Zstandard stream
	// holds, for the same reason; 128 KiB is what klauspost's gzhttp
	// uses, four times gzip's window, and far within the 8 MiB that RFC
	// 8878 asks decoders of the zstd content coding to support.
	zstdWindowSize = 128 << 10
)

// compressor is what gzip.Writer, brotli.Writer and zstd.Encoder have in
// common.
type compressor interface {
	io.Writer
	Flush() error
	Close() error
	Reset(io.Writer)
}

// coder is one content coding and the pool of its compressors. The pools
// are shared by every compress middleware, since the levels are fixed: a
// compressor costs from tens of kilobytes (gzip) to a few hundred
// (Brotli, Zstandard) to allocate and initialize, far more than the
// response it usually serves.
type coder struct {
	name string // the Content-Encoding token
	id   int    // index in coders
	new  func(io.Writer) compressor
	pool sync.Pool
}

var (
	gzipCoder = &coder{name: "gzip", id: 0, new: func(w io.Writer) compressor {
		zw, err := gzip.NewWriterLevel(w, gzipLevel)
		if err != nil {
			panic("compress: " + err.Error()) // only for an invalid constant level
		}
		return zw
	}}
	brotliCoder = &coder{name: "br", id: 1, new: func(w io.Writer) compressor {
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotliQuality, LGWin: brotliWindowLog})
	}}
	zstdCoder = &coder{name: "zstd", id: 2, new: func(w io.Writer) compressor {
		zw, err := zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			// One goroutine: the response is written on the handler's
			// goroutine, and helper goroutines per stream cost more
			// than they save on bodies of web size.
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindowSize),
			zstd.WithLowerEncoderMem(true),
		)
		if err != nil {
			panic("compress: " + err.Error()) // only for invalid constant options
		}
		return zw
	}}
	coders = [...]*coder{gzipCoder, brotliCoder, zstdCoder}
)

// encoder is a pooled compressor. The compressor writes to out, whose
// destination is set per response and cleared on release, so that a pooled
// compressor does not keep a finished response (and its connection's
// buffers) alive.
type encoder struct {
	c   compressor
	out sink
}

type sink struct{ w io.Writer }

func (s *sink) Write(p []byte) (int, error) { return s.w.Write(p) }

// get returns a compressor that writes to w, ready for a new stream.
func (c *coder) get(w io.Writer) *encoder {
	e, _ := c.pool.Get().(*encoder)
	if e == nil {
		e = &encoder{}
		e.c = c.new(&e.out)
	} else {
		e.c.Reset(&e.out)
	}
	e.out.w = w
	return e
}

// put returns e to the pool. It need not have been closed: the next get
// resets it, which discards a stream cut short by a panic.
func (c *coder) put(e *encoder) {
	e.out.w = nil
	c.pool.Put(e)
}

type handler struct {
	next         http.Handler
	coders       []*coder // offered, highest priority first
	defaultCoder *coder   // for requests without Accept-Encoding; nil: none
	minSize      int
	excluded     []pattern
	included     []pattern
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// HEAD has no body to compress, and its headers must describe the
	// GET response; Traefik passes it through too. Upgrades and CONNECT
	// turn the connection into something else. A Range request is served
	// as is: byte ranges of a compressed stream would be ranges of
	// something else than the client asked about, and a download that is
	// resumed must get the same bytes it started with.
	if r.Method == http.MethodHead || r.Method == http.MethodConnect ||
		len(r.Header["Upgrade"]) > 0 || len(r.Header["Range"]) > 0 || h.requestExcluded(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	ae, present := r.Header["Accept-Encoding"]
	c := h.negotiate(ae, present)
	if c == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	rw := writerPool.Get().(*responseWriter)
	rw.rw, rw.h, rw.coder = w, h, c
	// release runs even when next panics (http.ErrAbortHandler from a
	// proxy whose backend went away), so that the compressor and the
	// writer go back to their pools; finish does not, since a response
	// cut short must not be completed.
	defer rw.release()
	h.next.ServeHTTP(rw, r)
	rw.finish()
}

// requestExcluded reports whether the request's Content-Type rules
// compression out: gRPC, whose framing has its own compression, and, as in
// Traefik, the excluded content types.
func (h *handler) requestExcluded(r *http.Request) bool {
	ct := r.Header["Content-Type"]
	if len(ct) == 0 {
		return false
	}
	mt := mediaType(ct[0])
	if isGRPC(mt) {
		return true
	}
	for _, p := range h.excluded {
		if p.matches(mt, ct[0]) {
			return true
		}
	}
	return false
}

// compressible reports whether a response of Content-Type ct may be
// compressed.
func (h *handler) compressible(ct string) bool {
	mt := mediaType(ct)
	if !strings.Contains(mt, "/") {
		// Unparsable: Traefik (and klauspost's gzhttp) leave such
		// responses alone rather than guess.
		return false
	}
	if len(h.included) > 0 {
		for _, p := range h.included {
			if p.matches(mt, ct) {
				return true
			}
		}
		return false
	}
	// Event streams are left alone by default: each event must reach the
	// client as soon as it is written, and a compressor per long-lived
	// stream holds memory for as long as the stream lasts. Listing
	// text/event-stream in includedContentTypes compresses them.
	if isGRPC(mt) || mt == "text/event-stream" {
		return false
	}
	for _, p := range h.excluded {
		if p.matches(mt, ct) {
			return false
		}
	}
	return true
}

func isGRPC(mt string) bool { return strings.HasPrefix(mt, "application/grpc") }

// qOne is q=1 in thousandths, the unit of the q-values below.
const qOne = 1000

// negotiate picks the coding for a request from its Accept-Encoding values
// (RFC 9110, section 12.5.3), or nil for none. present tells an absent
// header, for which defaultEncoding applies, from an empty one, which
// refuses every coding.
//
// Each offered coding gets the q-value the client gave it, or that of "*"
// when it is not named. The highest wins; a tie goes to defaultEncoding
// when the client sent "*" (as in Traefik, where "*" means "the default"),
// and otherwise to the coding listed first in encodings. identity named
// with a higher q-value than the winner refuses compression.
func (h *handler) negotiate(values []string, present bool) *coder {
	if !present {
		return h.defaultCoder
	}
	var q [len(coders)]int
	for i := range q {
		q[i] = -1
	}
	star, identity := -1, -1
	for _, v := range values {
		for v != "" {
			var item string
			item, v, _ = strings.Cut(v, ",")
			name, params, _ := strings.Cut(item, ";")
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			qv, ok := parseQ(params)
			if !ok {
				continue // a malformed q-value makes the element unusable
			}
			switch {
			case name == "*":
				star = max(star, qv)
			case strings.EqualFold(name, "identity"):
				identity = max(identity, qv)
			case strings.EqualFold(name, "x-gzip"):
				// RFC 9110, section 8.4.1.3: an alias of gzip.
				q[gzipCoder.id] = max(q[gzipCoder.id], qv)
			default:
				for _, c := range coders {
					if strings.EqualFold(name, c.name) {
						q[c.id] = max(q[c.id], qv)
					}
				}
			}
		}
	}
	qOf := func(c *coder) int {
		if q[c.id] >= 0 {
			return q[c.id]
		}
		return star
	}
	var best *coder
	bestQ := 0
	for _, c := range h.coders {
		if qc := qOf(c); qc > bestQ {
			best, bestQ = c, qc
		}
	}
	if best == nil {
		return nil
	}
	if d := h.defaultCoder; d != nil && star > 0 && qOf(d) == bestQ {
		best = d
	}
	if identity > bestQ {
		return nil
	}
	return best
}

// parseQ returns the q parameter among params (";q=0.5;..."), in
// thousandths, qOne when there is none. ok is false when it is malformed.
// Digits beyond the third decimal, which RFC 9110 does not allow, are
// ignored, and values above 1 count as 1.
func parseQ(params string) (q int, ok bool) {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		p = strings.TrimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		s := strings.TrimSpace(p[2:])
		whole, frac, _ := strings.Cut(s, ".")
		if whole == "" && frac == "" {
			return 0, false
		}
		n := 0
		for i := 0; i < len(whole); i++ {
			d := whole[i]
			if d < '0' || d > '9' {
				return 0, false
			}
			n = min(n*10+int(d-'0'), 10)
		}
		n *= qOne
		scale := 100
		for i := 0; i < len(frac); i++ {
			d := frac[i]
			if d < '0' || d > '9' {
				return 0, false
			}
			n += int(d-'0') * scale
			scale /= 10
		}
		return min(n, qOne), true
	}
	return qOne, true
}

// mediaType returns the media type of a Content-Type value, trimmed and
// lower-cased, without its parameters. It allocates only for a value that
// is not lower-case already.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// The states of a responseWriter.
const (
	// pending: the status and the start of the body are held back until
	// it is known whether to compress.
	statePending uint8 = iota
	// plain: everything passes through unchanged.
	statePlain
	// compressing: the headers are sent and the body goes through the
	// compressor.
	stateCompressing
	// hijacked: the connection belongs to the handler.
	stateHijacked
)

// maxPooledBuf bounds the buffer a pooled writer keeps, so that one
// middleware with a large minResponseBodyBytes does not make every pooled
// writer hold that much.
const maxPooledBuf = 64 << 10

var writerPool = sync.Pool{New: func() any { return new(responseWriter) }}

// responseWriter holds back the status and up to minSize bytes of the body
// until it can decide whether to compress.
type responseWriter struct {
	rw    http.ResponseWriter
	h     *handler
	coder *coder
	enc   *encoder // set while compressing

	state   uint8
	checked bool // the status and headers have been found eligible
	// sizeKnown: the backend declared a Content-Length of at least
	// minSize, so there is no need to wait for the body.
	sizeKnown bool
	// sniff: there is no Content-Type to go by; the body decides.
	sniff  bool
	status int // the final status held back; 0 until there is one
	buf    []byte
}

// Header returns the underlying header map: the decision reads what the
// backend set there, and adjusts it when compressing.
func (w *responseWriter) Header() http.Header { return w.rw.Header() }

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController
// (deadlines, full duplex) and reqinfo.From.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.rw }

// WriteHeader holds back a final status, unless the status and headers
// already rule compression out, in which case it is sent at once (a
// backend that sends its headers and then waits, as event streams do, is
// seen promptly by the client). Informational statuses pass through: the
// final one is still to come.
func (w *responseWriter) WriteHeader(code int) {
	switch {
	case w.state != statePending:
		w.rw.WriteHeader(code)
	case code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols:
		w.rw.WriteHeader(code)
	case code < 100 || code > 999:
		w.rw.WriteHeader(code) // net/http's panic, with its message
	case w.status != 0:
		// A second final status is ignored, as net/http ignores it.
	default:
		w.status = code
		if !w.eligible() {
			_ = w.startPlain()
		}
	}
}

// eligible reports whether the status and headers allow compression, and
// notes what the decision still has to wait for.
func (w *responseWriter) eligible() bool {
	w.checked = true
	switch s := w.status; {
	case s < 200, s == http.StatusNoContent, s == http.StatusPartialContent, s == http.StatusNotModified:
		return false
	}
	hdr := w.rw.Header()
	for _, v := range hdr["Content-Encoding"] {
		if strings.TrimSpace(v) != "" {
			return false // already encoded, even if only as "identity"
		}
	}
	if len(hdr["Content-Range"]) > 0 {
		return false
	}
	for _, v := range hdr["Cache-Control"] {
		// RFC 9110, section 7.7: no-transform forbids a proxy to
		// change the content; backends send it on event streams and
		// on bodies that are signed or checksummed.
		if hasToken(v, "no-transform") {
			return false
		}
	}
	if cl := hdr["Content-Length"]; len(cl) > 0 {
		if n, err := strconv.ParseInt(strings.TrimSpace(cl[0]), 10, 64); err == nil {
			if n < int64(w.h.minSize) {
				return false
			}
			w.sizeKnown = true
		}
	}
	if ct := hdr["Content-Type"]; len(ct) > 0 && ct[0] != "" {
		return w.h.compressible(ct[0])
	}
	w.sniff = true
	return true
}

// Write holds the body back until minSize bytes have come, then compresses
// or passes it through.
func (w *responseWriter) Write(p []byte) (int, error) {
	switch w.state {
	case stateCompressing:
		return w.enc.c.Write(p)
	case statePending:
		if w.status == 0 {
			w.status = http.StatusOK
		}
		if !w.checked && !w.eligible() {
			if err := w.startPlain(); err != nil {
				return 0, err
			}
			return w.rw.Write(p)
		}
		if len(p) == 0 {
			return 0, nil
		}
		if !w.sizeKnown && len(w.buf)+len(p) < w.h.minSize {
			if w.buf == nil {
				w.buf = make([]byte, 0, min(w.h.minSize, maxPooledBuf))
			}
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		return w.start(p)
	}
	return w.rw.Write(p)
}

// start sends the headers and what was held back, compressed unless the
// sniffed content type is not to be compressed, then writes p. With
// nothing to sniff (a flush before any body), the response goes out
// uncompressed: its type cannot be known.
func (w *responseWriter) start(p []byte) (int, error) {
	hdr := w.rw.Header()
	if w.sniff && len(w.buf) == 0 && len(p) == 0 {
		return 0, w.startPlain()
	}
	if w.sniff {
		// Without a Content-Type, net/http would sniff the compressed
		// bytes and label every response application/x-gzip; sniff the
		// original instead, and send what is found. A header present
		// but empty asks for no Content-Type, and stays so.
		var head [512]byte
		n := copy(head[:], w.buf)
		n += copy(head[n:], p)
		ct := http.DetectContentType(head[:n])
		if !w.h.compressible(ct) {
			if err := w.startPlain(); err != nil {
				return 0, err
			}
			return w.rw.Write(p)
		}
		if _, ok := hdr["Content-Type"]; !ok {
			hdr["Content-Type"] = []string{ct}
		}
	}
	delete(hdr, "Content-Length")
	delete(hdr, "Accept-Ranges")
	hdr["Content-Encoding"] = []string{w.coder.name}
	addVary(hdr)
	if et := hdr["Etag"]; len(et) > 0 && strings.HasPrefix(et[0], `"`) {
		hdr["Etag"] = []string{"W/" + et[0]}
	}
	w.rw.WriteHeader(w.status)
	w.state = stateCompressing
	w.enc = w.coder.get(w.rw)
	if len(w.buf) > 0 {
		_, err := w.enc.c.Write(w.buf)
		w.buf = w.buf[:0]
		if err != nil {
			return 0, err
		}
	}
	return w.enc.c.Write(p)
}

// startPlain gives up on compressing: it sends the status and what was
// held back as they are.
func (w *responseWriter) startPlain() error {
	w.state = statePlain
	if w.status != 0 {
		w.rw.WriteHeader(w.status)
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.rw.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

// Flush implements http.Flusher, ignoring errors as it must.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls. Before the
// decision, it makes it now with what has been written: a handler that
// flushes wants the client to have those bytes now, and holding them back
// for more would stall a stream or a long poll. While compressing, it
// flushes the compressor, then the connection.
func (w *responseWriter) FlushError() error {
	if w.state == statePending {
		if w.status == 0 {
			w.status = http.StatusOK // a flush sends the header, as in net/http
		}
		if !w.checked && !w.eligible() {
			if err := w.startPlain(); err != nil {
				return err
			}
		} else if _, err := w.start(nil); err != nil {
			return err
		}
	}
	if w.state == stateCompressing {
		if err := w.enc.c.Flush(); err != nil {
			return err
		}
	}
	// The direct cases avoid allocating a ResponseController on a path
	// that streaming responses take for every chunk.
	switch f := w.rw.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	return http.NewResponseController(w.rw).Flush()
}

// Hijack hands the connection to the handler. What was held back is sent
// first, as net/http sends what was written before a hijack; nothing is
// sent when nothing was written, since a handler that hijacks to switch
// protocols writes its own response on the connection.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.state == statePending && (w.status != 0 || len(w.buf) > 0) {
		if err := w.startPlain(); err != nil {
			return nil, nil, err
		}
	}
	c, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.state = stateHijacked
	}
	return c, brw, err
}

// finish completes the response once the handler has returned: what is
// still held back was too small to compress and goes out as it is; a
// compressed stream gets its trailer. When nothing at all was written,
// nothing is sent, and net/http answers with its implicit 200.
func (w *responseWriter) finish() {
	switch w.state {
	case statePending:
		_ = w.startPlain()
	case stateCompressing:
		// An error means that the client has gone; the handler has
		// returned, so there is no one left to tell.
		_ = w.enc.c.Close()
	}
}

// release returns the compressor and the writer to their pools.
func (w *responseWriter) release() {
	if w.enc != nil {
		w.coder.put(w.enc)
	}
	buf := w.buf[:0]
	if cap(buf) > maxPooledBuf {
		buf = nil
	}
	*w = responseWriter{buf: buf}
	writerPool.Put(w)
}

// addVary adds Accept-Encoding to Vary unless it is listed already (or
// Vary is "*", which covers it), so that caches keep the compressed and
// uncompressed responses apart.
func addVary(hdr http.Header) {
	for _, v := range hdr["Vary"] {
		if hasToken(v, "Accept-Encoding") || hasToken(v, "*") {
			return
		}
	}
	hdr["Vary"] = append(hdr["Vary"], "Accept-Encoding")
}

// hasToken reports whether the comma-separated list v has token, ignoring
// case, spaces and any "=value" part (as in "no-transform" among
// Cache-Control directives).
func hasToken(v, token string) bool {
	for v != "" {
		var item string
		item, v, _ = strings.Cut(v, ",")
		name, _, _ := strings.Cut(item, "=")
		if strings.EqualFold(strings.TrimSpace(name), token) {
			return true
		}
	}
	return false
}

// pattern is one entry of excludedContentTypes or includedContentTypes.
type pattern struct {
	// typ is the lower-cased media type; for "text/*" it is "text/" and
	// prefix is set ("" for "*/*").
	typ    string
	prefix bool
	params map[string]string // keys lower-cased; nil when none
}

// parsePattern parses a configured content type.
func parsePattern(v string) (pattern, error) {
	mt, params, err := mimeParse(v)
	if err != nil {
		return pattern{}, err
	}
	p := pattern{typ: mt}
	if len(params) > 0 {
		p.params = params
	}
	switch {
	case mt == "*/*":
		p.typ, p.prefix = "", true // every type
	case strings.HasSuffix(mt, "/*"):
		p.typ, p.prefix = mt[:len(mt)-1], true
	}
	return p, nil
}

// mimeParse parses a media type with its parameters, and insists on a
// type/subtype pair: mime.ParseMediaType also accepts a Content-Disposition
// value such as "attachment", which is no content type.
func mimeParse(v string) (string, map[string]string, error) {
	mt, params, err := mime.ParseMediaType(v)
	if err == nil && !strings.Contains(mt, "/") {
		err = errors.New(`no "/" between type and subtype`)
	}
	if err != nil {
		return "", nil, fmt.Errorf("%q is not a media type (%v); use e.g. \"text/html\" or \"text/html; charset=utf-8\"", v, err)
	}
	return mt, params, nil
}

// matches reports whether a Content-Type, whose media type is mt and whole
// value is ct, matches p. A pattern without parameters ignores those of
// the content type; one with parameters requires exactly them, as in
// Traefik, with values compared ignoring case (charset names are).
func (p pattern) matches(mt, ct string) bool {
	if p.prefix {
		if !strings.HasPrefix(mt, p.typ) {
			return false
		}
	} else if mt != p.typ {
		return false
	}
	if len(p.params) == 0 {
		return true
	}
	_, params, err := mimeParse(ct)
	if err != nil || len(params) != len(p.params) {
		return false
	}
	for k, want := range p.params {
		if got, ok := params[k]; !ok || !strings.EqualFold(got, want) {
			return false
		}
	}
	return true
}

var (
	_ http.Handler        = (*handler)(nil)
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
	_ http.Hijacker       = (*responseWriter)(nil)
)
