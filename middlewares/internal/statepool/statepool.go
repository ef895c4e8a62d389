// Package statepool keeps middleware state that must outlive a routing
// table swap (rate-limit buckets, in-flight counters), keyed by a stable
// identity: the middleware's name and a hash of its options.
//
// A reload rebuilds every middleware, but a client's budget must not reset
// because an unrelated container started: the new handler finds the
// state of the old one under the same key and shares it. A changed option
// makes a new key, hence fresh state, which is what the user asked for.
//
// The pool holds its values weakly. The handlers of the live tables hold
// them strongly, so a value lives exactly as long as some table uses it:
// when the last table that used it is closed and collected, the value is
// collected too and its entry removed. No close hook is needed, and a
// middleware that was deleted from the configuration leaks nothing.
// Building a new table always happens while the old one still serves, so
// the old table's value is still reachable when the new one asks for it.
package statepool

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"weak"
)

// Pool maps keys to shared *T values. The zero value is ready to use.
type Pool[T any] struct {
	mu sync.Mutex
	m  map[string]weak.Pointer[T]
}

// Get returns the live value under key, or stores and returns newT().
func (p *Pool[T]) Get(key string, newT func() *T) *T {
	p.mu.Lock()
	defer p.mu.Unlock()
	if wp, ok := p.m[key]; ok {
		if v := wp.Value(); v != nil {
			return v
		}
	}
	if p.m == nil {
		p.m = map[string]weak.Pointer[T]{}
	}
	v := newT()
	p.m[key] = weak.Make(v)
	// The cleanup must not refer to v, or v would never be collected;
	// it gets the key only.
	runtime.AddCleanup(v, p.forget, key)
	return v
}

// forget removes key once its value has been collected, unless a newer
// value took its place in the meantime.
func (p *Pool[T]) forget(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if wp, ok := p.m[key]; ok && wp.Value() == nil {
		delete(p.m, key)
	}
}

// Len is the number of entries, collected or not yet removed ones
// included; tests use it.
func (p *Pool[T]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}

// Key is the identity of a middleware's state: its qualified name and a
// digest of options, which should be the normalised values the handler
// uses (defaults applied) so that spelling a default out does not reset
// the state. options must encode to JSON; the middlewares pass structs of
// plain values, so a failure is a programming error, caught by their tests.
func Key(name string, options any) string {
	b, err := json.Marshal(options)
	if err != nil {
		panic(fmt.Sprintf("statepool: options of type %T do not encode to JSON: %v", options, err))
	}
	sum := sha256.Sum256(b)
	return name + "\x00" + hex.EncodeToString(sum[:])
}
