package proxy

import (
	"net/url"
	"testing"
	"time"
)

func TestPoolForgetsUnusedServers(t *testing.T) {
	tests := []struct {
		desc      string
		age       time.Duration
		idle      bool
		forgotten bool
	}{
		{desc: "recently used pool is kept", age: time.Minute, forgotten: false},
		{desc: "pool unused for long is forgotten", age: 2 * unusedAfter, forgotten: true},
		{desc: "pool holding an idle connection is kept", age: 2 * unusedAfter, idle: true, forgotten: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			p := NewPool(nil)
			defer p.Close()
			u, _ := url.Parse("http://127.0.0.1:9")
			key := poolKey{scheme: "http", addr: u.Host}
			hp := p.hostPoolFor(key, "127.0.0.1")
			now := time.Now()
			hp.lastPut = now.Add(-tc.age)
			if tc.idle {
				hp.idle = append(hp.idle, &conn{idleSince: now})
			}
			p.forgetUnused(now)
			_, kept := p.hosts[key]
			if kept == tc.forgotten {
				t.Fatalf("kept=%v, want forgotten=%v", kept, tc.forgotten)
			}
			hp.idle = nil
		})
	}
}
