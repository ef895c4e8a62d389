package h1

import (
	"io"
	"net/http"
	"sync"
)

// maxPostHandlerReadBytes is how much unread request body the server reads
// and discards to keep a connection alive; beyond it closing is cheaper.
const maxPostHandlerReadBytes = 256 << 10

// body is a request body limited to its framing (Content-Length or chunked).
// Its first Read sends "100 Continue" when the client asked for it.
//
// The mutex exists because handlers may leak a goroutine that keeps reading
// after ServeHTTP returned, while the server discards the rest of the body;
// it is uncontended on the normal path.
type body struct {
	mu        sync.Mutex
	c         *conn
	req       *http.Request
	remaining int64 // Content-Length framing: bytes left
	chunked   bool
	cr        ChunkedReader
	eof       bool  // the whole body (and trailers) has been read
	closed    bool  // reads now fail with http.ErrBodyReadAfterClose
	err       error // sticky read error; the connection cannot be reused
	// expectContinue is set until the first Read sends "100 Continue".
	expectContinue bool
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.readLocked(p)
}

// Close marks the body closed. It does not read the rest: the server does
// that after the handler, within its keep-alive limit.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

func (b *body) readLocked(p []byte) (n int, err error) {
	if b.eof {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.expectContinue {
		b.expectContinue = false
		b.c.resp.writeContinue()
	}
	if b.chunked {
		n, err = b.cr.Read(p)
		if err == io.EOF {
			b.sawEOF()
		}
	} else {
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err = b.c.br.Read(p)
		b.remaining -= int64(n)
		if b.remaining == 0 {
			// Report EOF with the last data so io.ReadAll needs no extra call.
			err = io.EOF
			b.sawEOF()
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// sawEOF records the end of the body: declared trailers become visible in
// req.Trailer and the connection becomes eligible for the background read
// that detects a client going away.
func (b *body) sawEOF() {
	b.eof = true
	if b.chunked && b.req.Trailer != nil {
		for k, vv := range b.cr.Trailer() {
			if _, ok := b.req.Trailer[k]; ok {
				b.req.Trailer[k] = vv
			}
		}
	}
	b.c.bg.CompareAndSwap(bgHandler, bgEligible)
}

// discard reads and drops what is left of the body, up to limit bytes, and
// reports whether the body was then complete, so that the connection can be
// reused. It ignores the closed flag: the server calls it after Close.
func (b *body) discard(limit int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.discardLocked(limit)
}

func (b *body) discardLocked(limit int64) bool {
	if b.eof {
		return true
	}
	if b.err != nil || b.expectContinue {
		// A client waiting for 100 Continue may or may not send the body
		// now; the next bytes cannot be trusted to be a request.
		return false
	}
	if !b.chunked {
		if b.remaining > limit {
			return false
		}
		n, err := b.c.br.Discard(int(b.remaining))
		b.remaining -= int64(n)
		if err != nil {
			b.err = err
			return false
		}
		b.sawEOF()
		return true
	}
	err := b.cr.discard(limit)
	if err == io.EOF {
		b.sawEOF()
		return true
	}
	if err != nil {
		b.err = err
	}
	return false
}

// bodyComplete reports whether the body has been read to its end.
func (b *body) bodyComplete() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof
}
