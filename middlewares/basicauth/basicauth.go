// Package basicauth implements Traefik's basicAuth middleware: HTTP Basic
// authentication against htpasswd-style users (bcrypt, apr1, MD5-crypt or
// SHA1 hashes; plain-text passwords are refused).
package basicauth

import (
	"crypto/sha256"
	"net/http"
	"sync"
)

type handler struct {
	next         http.Handler
	users        map[string]*credential
	dummy        *credential // checked for unknown users, never matches
	challenge    string      // WWW-Authenticate value
	removeHeader bool
	headerField  string // canonical; "" if off
	cache        *verifiedCache
}

// credential is a stored hash and how to check a password against it.
type credential struct {
	hash      string
	cacheable bool
	// verify is a field rather than a method so that tests can observe
	// whether a check reached the hash.
	verify func(password string) bool
}

func newCredential(u user) *credential {
	return &credential{
		hash:      u.hash,
		cacheable: u.kind.expensive(),
		verify:    func(pw string) bool { return verify(u.kind, u.hash, pw) },
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, password, ok := r.BasicAuth()
	if !ok || !h.authenticate(name, password) {
		w.Header().Set("WWW-Authenticate", h.challenge)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("401 Unauthorized\n"))
		return
	}
	if h.removeHeader || h.headerField != "" {
		// Work on a copy: the caller's request keeps its headers.
		r2 := new(http.Request)
		*r2 = *r
		r2.Header = r.Header.Clone()
		if h.removeHeader {
			r2.Header.Del("Authorization")
		}
		if h.headerField != "" {
			// Set under the canonical name: the server canonicalises
			// the client's header names, so this replaces any value the
			// client sent to impersonate someone. (Traefik sets the name
			// as written, which can leave the client's value alongside.)
			r2.Header[h.headerField] = []string{name}
		}
		r = r2
	}
	h.next.ServeHTTP(w, r)
}

// authenticate checks a name and password.
//
// An unknown name is checked against a dummy hash as slow as the real ones,
// so that response times do not reveal which names exist.
//
// Successful checks of slow hashes are remembered in a small cache so that
// a logged-in client, which sends its credentials with every request, does
// not pay a bcrypt check (tens of milliseconds of CPU) each time. This is
// safe because:
//   - only successes are cached, and only after the full check passed, so
//     the cache can never admit a password the hash would refuse, and
//     failures always cost the full check (no fast path for guessing);
//   - the key is SHA-256 of name, password and stored hash, so a hit needs
//     the exact password, and a changed hash never matches an old entry;
//   - looking a key up in a map is not constant-time, but what it could
//     reveal is a SHA-256 digest of the attacker's own input;
//   - the cache belongs to this middleware instance and is dropped with it
//     at the next routing-table build;
//   - it holds digests, not passwords. A SHA-256 digest is much faster to
//     brute-force than bcrypt, but reading it needs access to the process's
//     memory, which would also expose passwords in requests in flight.
func (h *handler) authenticate(name, password string) bool {
	cred, known := h.users[name]
	if !known {
		h.dummy.verify(password)
		return false
	}
	if !cred.cacheable {
		return cred.verify(password)
	}
	key := cacheKey(name, password, cred.hash)
	if h.cache.contains(key) {
		return true
	}
	if !cred.verify(password) {
		return false
	}
	h.cache.add(key)
	return true
}

func cacheKey(name, password, hash string) [sha256.Size]byte {
	d := sha256.New()
	d.Write([]byte(name))
	d.Write([]byte{0})
	d.Write([]byte(password))
	d.Write([]byte{0})
	d.Write([]byte(hash))
	var k [sha256.Size]byte
	d.Sum(k[:0])
	return k
}

// cacheSize bounds the memory of the cache to about 1024 × 48 bytes.
const cacheSize = 1024

// verifiedCache is a set of recently verified credential digests, bounded
// by evicting an arbitrary entry when full (Go randomises map iteration).
// Random eviction keeps this simple and lock-cheap; the active clients'
// entries come back after one slow check.
type verifiedCache struct {
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]struct{}
	max int
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{m: make(map[[sha256.Size]byte]struct{}, max), max: max}
}

func (c *verifiedCache) contains(k [sha256.Size]byte) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.m[k]
	return ok
}

func (c *verifiedCache) add(k [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = struct{}{}
}

func (c *verifiedCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

var _ http.Handler = (*handler)(nil)
