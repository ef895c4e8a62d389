package reqinfo

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync/atomic"
)

// idPrefix is 8 random bytes drawn once per process, so that IDs from two
// berth processes (or two runs) never collide; idCounter makes each ID of a
// process unique without asking the random source per request.
var (
	idPrefix  [16]byte
	idCounter atomic.Uint64
)

func init() {
	var b [8]byte
	_, _ = rand.Read(b[:])
	hex.Encode(idPrefix[:], b[:])
	// Start the counter at a random point as well, so that the suffix
	// does not reveal how many requests a process has served.
	_, _ = rand.Read(b[:])
	idCounter.Store(uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3]))
}

// NewRequestID returns a new 32-hex-digit request ID: a per-process random
// prefix and a counter.
func NewRequestID() string {
	var b [32]byte
	copy(b[:16], idPrefix[:])
	n := idCounter.Add(1)
	for i := 31; i >= 16; i-- {
		b[i] = "0123456789abcdef"[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// RequestID returns the request's X-Request-Id when it is a sane one (1 to
// 128 visible ASCII characters), else sets a new one on the request, so
// that the backend receives it, and returns it.
func RequestID(r *http.Request) string {
	if v := r.Header[RequestIDHeader]; len(v) == 1 && validID(v[0]) {
		return v[0]
	}
	id := NewRequestID()
	r.Header[RequestIDHeader] = []string{id}
	return id
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
