package balancer

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// named returns n servers of weight 1 named s0, s1, ...
func named(n int) []*Server {
	out := make([]*Server, n)
	for i := range out {
		out[i] = &Server{URL: "http://10.0.0." + strconv.Itoa(i) + ":80", Weight: 1}
	}
	return out
}

func req(t testing.TB) *http.Request {
	t.Helper()
	return httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
}

// pickRelease picks once and releases at once.
func pickRelease(t testing.TB, p Picker, r *http.Request) *Server {
	t.Helper()
	res, err := p.Pick(r)
	if err != nil {
		t.Fatalf("pick: %v", err)
	}
	res.Server.Release()
	return res.Server
}

// upDown is a Health a test switches.
type upDown struct {
	down  atomic.Bool
	since atomic.Int64
}

func (h *upDown) Up() bool     { return !h.down.Load() }
func (h *upDown) Since() int64 { return h.since.Load() }

func TestLeastConnBalancesInFlight(t *testing.T) {
	for _, n := range []int{4, 6} {
		t.Run(fmt.Sprintf("%d servers", n), func(t *testing.T) {
			srv := named(n)
			p, err := New(srv, Config{Strategy: "leastconn"})
			if err != nil {
				t.Fatal(err)
			}
			// Slow requests placed concurrently and all held: once they
			// are placed, the counts are within one of each other.
			const requests = 64
			var placed sync.WaitGroup
			release := make(chan struct{})
			var done sync.WaitGroup
			for range requests {
				placed.Add(1)
				done.Add(1)
				go func() {
					defer done.Done()
					res, err := p.Pick(req(t))
					placed.Done()
					if err != nil {
						t.Error(err)
						return
					}
					<-release
					res.Server.Release()
				}()
			}
			placed.Wait()
			lo, hi := int64(math.MaxInt64), int64(0)
			for _, s := range srv {
				lo, hi = min(lo, s.InFlight()), max(hi, s.InFlight())
			}
			close(release)
			done.Wait()
			if hi-lo > 1 {
				t.Fatalf("in flight from %d to %d, want within 1", lo, hi)
			}
			// Then the slow requests end in any order and new ones
			// arrive: each new one goes to a least loaded server.
			var held []*Server
			for i := range 200 {
				res, err := p.Pick(req(t))
				if err != nil {
					t.Fatal(err)
				}
				lo := int64(math.MaxInt64)
				for _, s := range srv {
					if s != res.Server {
						lo = min(lo, s.InFlight())
					}
				}
				if res.Server.InFlight()-1 > lo {
					t.Fatalf("pick %d went to a server with %d in flight while another had %d", i, res.Server.InFlight()-1, lo)
				}
				held = append(held, res.Server)
				if i%3 == 2 {
					k := (i * 7) % len(held)
					held[k].Release()
					held = append(held[:k], held[k+1:]...)
				}
			}
			for _, s := range held {
				s.Release()
			}
		})
	}
}

func TestLeastConnWeightsAndTies(t *testing.T) {
	tests := []struct {
		desc    string
		weights []int
		picks   int
		want    []int64 // in flight per server after picks, none released
	}{
		{desc: "equal weights spread evenly", weights: []int{1, 1, 1}, picks: 9, want: []int64{3, 3, 3}},
		{desc: "weight 3 takes three times as many", weights: []int{3, 1}, picks: 8, want: []int64{6, 2}},
		{desc: "weight 10 six servers", weights: []int{10, 10, 10, 10, 10, 10}, picks: 60, want: []int64{10, 10, 10, 10, 10, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			srv := servers(tt.weights...)
			p, err := New(srv, Config{Strategy: "leastconn"})
			if err != nil {
				t.Fatal(err)
			}
			for range tt.picks {
				if _, err := p.Pick(req(t)); err != nil {
					t.Fatal(err)
				}
			}
			for i, s := range srv {
				if s.InFlight() != tt.want[i] {
					t.Errorf("server %s: %d in flight, want %d", s.URL, s.InFlight(), tt.want[i])
				}
			}
		})
	}
	t.Run("ties are not always broken towards the first server", func(t *testing.T) {
		srv := named(3)
		p, _ := New(srv, Config{Strategy: "leastconn"})
		seen := map[string]int{}
		for range 300 {
			seen[pickRelease(t, p, req(t)).URL]++
		}
		for _, s := range srv {
			if seen[s.URL] < 50 {
				t.Errorf("idle ties: %s got %d of 300", s.URL, seen[s.URL])
			}
		}
	})
}

func TestMaxConnsAndQueue(t *testing.T) {
	srv := named(2)
	for _, s := range srv {
		s.MaxConns = 2
	}
	for _, strategy := range []string{"wrr", "leastconn", "p2c", "random", "hash"} {
		t.Run(strategy, func(t *testing.T) {
			p, err := New(srv, Config{Strategy: strategy})
			if err != nil {
				t.Fatal(err)
			}
			var held []*Server
			for range 4 {
				res, err := p.Pick(req(t))
				if err != nil {
					t.Fatalf("pick %d: %v", len(held), err)
				}
				held = append(held, res.Server)
			}
			if _, err := p.Pick(req(t)); err != ErrFull {
				t.Fatalf("fifth pick: %v, want ErrFull", err)
			}
			for _, s := range srv {
				if s.InFlight() != 2 {
					t.Errorf("%s: %d in flight, want 2", s.URL, s.InFlight())
				}
			}
			for _, s := range held {
				s.Release()
			}
		})
	}
	t.Run("the service handler waits for a slot, then gives up with 503", func(t *testing.T) {
		release := make(chan struct{})
		s := &Server{URL: "a", Weight: 1, MaxConns: 1, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Hold") != "" {
				<-release
			}
			w.WriteHeader(204)
		})}
		p, _ := New([]*Server{s}, Config{})
		h := NewHandler(p, HandlerOptions{QueueTimeout: 30 * time.Millisecond})
		hold := req(t)
		hold.Header.Set("X-Hold", "1")
		done := make(chan struct{})
		go func() { h.ServeHTTP(httptest.NewRecorder(), hold); close(done) }()
		for s.InFlight() == 0 {
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req(t))
		if rec.Code != 503 || time.Since(start) < 25*time.Millisecond {
			t.Fatalf("got %d after %v, want 503 after the queue timeout", rec.Code, time.Since(start))
		}
		go func() { time.Sleep(10 * time.Millisecond); close(release) }()
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req(t))
		if rec.Code != 204 {
			t.Fatalf("got %d, want 204 once the slot freed within the queue timeout", rec.Code)
		}
		<-done
	})
}

func TestBackup(t *testing.T) {
	srv := named(4)
	srv[2].Backup, srv[3].Backup = true, true
	hs := make([]*upDown, 4)
	for i, s := range srv {
		hs[i] = &upDown{}
		s.Health = hs[i]
	}
	for _, strategy := range []string{"wrr", "leastconn", "p2c", "random", "hash"} {
		t.Run(strategy, func(t *testing.T) {
			p, err := New(srv, Config{Strategy: strategy})
			if err != nil {
				t.Fatal(err)
			}
			count := func() map[string]int {
				m := map[string]int{}
				for i := range 200 {
					r := req(t)
					r.RemoteAddr = fmt.Sprintf("192.0.2.%d:1234", i)
					m[pickRelease(t, p, r).URL]++
				}
				return m
			}
			hs[0].down.Store(false)
			hs[1].down.Store(false)
			if m := count(); m[srv[2].URL]+m[srv[3].URL] != 0 {
				t.Fatalf("backups used while primaries are up: %v", m)
			}
			hs[0].down.Store(true)
			if m := count(); m[srv[1].URL] != 200 {
				t.Fatalf("one primary down: %v, want all on the other primary", m)
			}
			hs[1].down.Store(true)
			if m := count(); m[srv[2].URL]+m[srv[3].URL] != 200 || m[srv[2].URL] == 0 && strategy != "hash" {
				t.Fatalf("all primaries down: %v, want only (both) backups", m)
			}
			hs[3].down.Store(true)
			hs[2].down.Store(true)
			if _, err := p.Pick(req(t)); err != ErrNoServer {
				t.Fatalf("everything down: %v, want ErrNoServer", err)
			}
			hs[2].down.Store(false)
			hs[3].down.Store(false)
		})
	}
}

func TestHashConsistency(t *testing.T) {
	const keys = 10000
	for _, n := range []int{3, 5, 10} {
		t.Run(fmt.Sprintf("%d to %d servers", n, n+1), func(t *testing.T) {
			before, _ := New(named(n), Config{Strategy: "hash", Options: Options{Hash: HashOptions{Key: "header:X-User"}}})
			after, _ := New(named(n+1), Config{Strategy: "hash", Options: Options{Hash: HashOptions{Key: "header:X-User"}}})
			moved := 0
			share := map[string]int{}
			for k := range keys {
				r := req(t)
				r.Header.Set("X-User", "user-"+strconv.Itoa(k))
				a, b := pickRelease(t, before, r), pickRelease(t, after, r)
				if a.URL != b.URL {
					moved++
				}
				share[a.URL]++
			}
			limit := keys/(n+1) + keys*5/100
			if moved > limit {
				t.Fatalf("%d of %d keys moved, want at most 1/N+5%% = %d", moved, keys, limit)
			}
			for u, c := range share {
				if c < keys/n/2 || c > keys/n*2 {
					t.Errorf("server %s got %d of %d keys: ring badly balanced", u, c, keys)
				}
			}
		})
	}
	t.Run("the same key goes to the same server, and keys", func(t *testing.T) {
		tests := []struct {
			desc, key string
			set       func(r *http.Request, i int)
		}{
			{desc: "clientip from X-Real-Ip", key: "clientip", set: func(r *http.Request, i int) { r.Header.Set("X-Real-Ip", "198.51.100."+strconv.Itoa(i)) }},
			{desc: "clientip from the peer", key: "clientip", set: func(r *http.Request, i int) { r.RemoteAddr = "198.51.100." + strconv.Itoa(i) + ":999" }},
			{desc: "cookie", key: "cookie:sid", set: func(r *http.Request, i int) { r.AddCookie(&http.Cookie{Name: "sid", Value: strconv.Itoa(i)}) }},
			{desc: "query", key: "query:u", set: func(r *http.Request, i int) { r.URL.RawQuery = "a=1&u=" + strconv.Itoa(i) }},
			{desc: "uri", key: "uri", set: func(r *http.Request, i int) { r.RequestURI = "/p/" + strconv.Itoa(i) }},
		}
		for _, tt := range tests {
			t.Run(tt.desc, func(t *testing.T) {
				p, err := New(named(5), Config{Strategy: "hash", Options: Options{Hash: HashOptions{Key: tt.key}}})
				if err != nil {
					t.Fatal(err)
				}
				distinctServers := map[string]bool{}
				for i := range 50 {
					r := req(t)
					tt.set(r, i)
					first := pickRelease(t, p, r)
					for range 3 {
						if got := pickRelease(t, p, r); got != first {
							t.Fatalf("key %d went to %s then %s", i, first.URL, got.URL)
						}
					}
					distinctServers[first.URL] = true
				}
				if len(distinctServers) < 3 {
					t.Fatalf("50 keys landed on %d servers only", len(distinctServers))
				}
			})
		}
	})
	t.Run("bad keys", func(t *testing.T) {
		for _, k := range []string{"header:", "cookie", "ip", "uri:x"} {
			if _, err := New(named(2), Config{Strategy: "hash", Options: Options{Hash: HashOptions{Key: k}}}); err == nil {
				t.Errorf("key %q accepted", k)
			}
		}
		if _, err := New(named(2), Config{Strategy: "hash", Options: Options{Hash: HashOptions{BoundedLoad: 0.5}}}); err == nil {
			t.Error("boundedLoad 0.5 accepted")
		}
	})
}

func TestHashBoundedLoad(t *testing.T) {
	for _, factor := range []float64{1.25, 1.5, 2} {
		t.Run(fmt.Sprint(factor), func(t *testing.T) {
			srv := named(5)
			p, err := New(srv, Config{Strategy: "hash", Options: Options{Hash: HashOptions{Key: "header:X-K", BoundedLoad: factor}}})
			if err != nil {
				t.Fatal(err)
			}
			// A skewed key space (most requests share few keys) held in
			// flight: without the bound one server would take most.
			var total int64
			for i := range 1000 {
				r := req(t)
				r.Header.Set("X-K", strconv.Itoa(i%7))
				if _, err := p.Pick(r); err != nil {
					t.Fatal(err)
				}
				total++
				ceil := int64(math.Ceil(factor * float64(total) / float64(len(srv))))
				for _, s := range srv {
					if s.InFlight() > ceil {
						t.Fatalf("after %d requests %s has %d in flight, above ceil(%v × average) = %d", total, s.URL, s.InFlight(), factor, ceil)
					}
				}
			}
		})
	}
}

func TestStickyPinsAcrossRebuildAndRepins(t *testing.T) {
	cfg := Config{Strategy: "wrr", Sticky: &StickyConfig{Service: "web@file", HTTPOnly: true, SameSite: http.SameSiteLaxMode}}
	build := func(srv []*Server) Picker {
		p, err := New(srv, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	srv := named(3)
	p := build(srv)
	res, err := p.Pick(req(t))
	if err != nil {
		t.Fatal(err)
	}
	res.Server.Release()
	ck := res.SetCookie
	if ck == nil || ck.Name != CookieName("web@file") || ck.Path != "/" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", ck)
	}
	if len(CookieName("x")) != 7 || CookieName("x")[0] != '_' {
		t.Fatalf("default name %q, want _ and six hex digits", CookieName("x"))
	}
	for _, s := range srv {
		if ck.Value == s.URL || len(ck.Value) < 16 {
			t.Fatalf("cookie value %q reveals or is weak", ck.Value)
		}
	}
	pinned := res.Server.URL
	withCookie := func() *http.Request {
		r := req(t)
		r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		return r
	}
	// Rebuilt table, and a replica added: the same cookie still pins.
	srv2 := append(named(3), &Server{URL: "http://10.0.0.9:80", Weight: 1})
	for i, q := range []Picker{p, build(named(3)), build(srv2)} {
		for range 20 {
			res, err := q.Pick(withCookie())
			if err != nil {
				t.Fatal(err)
			}
			res.Server.Release()
			if res.Server.URL != pinned || res.SetCookie != nil {
				t.Fatalf("picker %d: went to %s (cookie %v), want pinned %s without a new cookie", i, res.Server.URL, res.SetCookie, pinned)
			}
		}
	}
	// The pinned server goes down: balanced again, cookie rewritten.
	srv3 := named(3)
	for _, s := range srv3 {
		if s.URL == pinned {
			s.Health = &upDown{}
			s.Health.(*upDown).down.Store(true)
		}
	}
	res, err = build(srv3).Pick(withCookie())
	if err != nil {
		t.Fatal(err)
	}
	res.Server.Release()
	if res.Server.URL == pinned || res.SetCookie == nil || res.SetCookie.Value == ck.Value {
		t.Fatalf("pinned server down: went to %s with cookie %v", res.Server.URL, res.SetCookie)
	}
	// The pinned server removed from the service: same.
	var without []*Server
	for _, s := range named(3) {
		if s.URL != pinned {
			without = append(without, s)
		}
	}
	res, err = build(without).Pick(withCookie())
	if err != nil || res.SetCookie == nil || res.Server.URL == pinned {
		t.Fatalf("pinned server removed: %v %+v", err, res)
	}
	t.Run("the key changes the value", func(t *testing.T) {
		c2 := cfg
		c2.Sticky = &StickyConfig{Service: "web@file", Key: []byte("shared secret")}
		p2, _ := New(named(3), c2)
		r2, _ := p2.Pick(req(t))
		for _, v := range []string{ck.Value} {
			if r2.Server.URL == pinned && r2.SetCookie.Value == v {
				t.Fatal("a different key gave the same cookie value")
			}
		}
	})
}

func TestSlowStart(t *testing.T) {
	now := time.Now().UnixNano()
	old := nowNano
	var clockNow atomic.Int64
	clockNow.Store(now)
	nowNano = func() int64 { return clockNow.Load() }
	defer func() { nowNano = old }()

	srv := named(2)
	srv[1].Load = NewLoad(now) // joined just now
	srv[1].SlowStart = 10 * time.Second
	for _, strategy := range []string{"wrr", "leastconn", "p2c"} {
		t.Run(strategy, func(t *testing.T) {
			p, _ := New(srv, Config{Strategy: strategy})
			// Requests are held, so that load-based strategies share by
			// weight too.
			share := func() float64 {
				n := 0
				var held []*Server
				for range 4000 {
					res, err := p.Pick(req(t))
					if err != nil {
						t.Fatal(err)
					}
					held = append(held, res.Server)
					if res.Server == srv[1] {
						n++
					}
				}
				for _, s := range held {
					s.Release()
				}
				return float64(n) / 4000
			}
			clockNow.Store(now + int64(time.Second))
			early := share()
			clockNow.Store(now + int64(5*time.Second))
			mid := share()
			clockNow.Store(now + int64(20*time.Second))
			late := share()
			if !(early < mid && mid < late) || early > 0.2 || late < 0.45 {
				t.Fatalf("shares at 1s, 5s, 20s: %.2f %.2f %.2f; want a ramp to one half", early, mid, late)
			}
		})
	}
}

func TestRandomAndP2CShares(t *testing.T) {
	for _, strategy := range []string{"random", "p2c"} {
		t.Run(strategy, func(t *testing.T) {
			srv := servers(3, 1)
			p, _ := New(srv, Config{Strategy: strategy})
			n := 0
			var held []*Server
			for range 20000 {
				res, err := p.Pick(req(t))
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, res.Server)
				if res.Server == srv[0] {
					n++
				}
			}
			for _, s := range held {
				s.Release()
			}
			share := float64(n) / 20000
			// Held requests: random honours weights in expectation, p2c
			// by comparing in-flight per weight.
			if share < 0.7 || share > 0.8 {
				t.Fatalf("weight-3 server got %.3f of picks", share)
			}
		})
	}
}

func TestHandlerRetriesAnotherServerOnConnectError(t *testing.T) {
	var got []string
	mk := func(name string, fail bool) *Server {
		return &Server{URL: name, Weight: 1, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			got = append(got, name)
			if fail {
				// What the proxy does on a refused connection.
				if eh, ok := w.(interface{ UpstreamError(error) bool }); ok && eh.UpstreamError(connectErr()) {
					return
				}
				w.WriteHeader(502)
				return
			}
			w.WriteHeader(200)
		})}
	}
	tests := []struct {
		desc     string
		method   string
		body     bool
		wantCode int
		want     []string
	}{
		{desc: "GET is retried on the other server", method: "GET", wantCode: 200, want: []string{"bad", "good"}},
		{desc: "DELETE without a body too", method: "DELETE", wantCode: 200, want: []string{"bad", "good"}},
		{desc: "a request with a body is not", method: "POST", body: true, wantCode: 502, want: []string{"bad"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got = nil
			srv := []*Server{mk("bad", true), mk("good", false)}
			p, _ := New(srv, Config{})
			h := NewHandler(p, HandlerOptions{})
			r := httptest.NewRequest(tt.method, "http://127.0.0.1/", nil)
			if tt.body {
				r = httptest.NewRequest(tt.method, "http://127.0.0.1/", stringsReader("x"))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.wantCode || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %d via %v, want %d via %v", rec.Code, got, tt.wantCode, tt.want)
			}
			for _, s := range srv {
				if s.InFlight() != 0 {
					t.Errorf("%s: %d still in flight", s.URL, s.InFlight())
				}
			}
		})
	}
}

func TestPassiveEjection(t *testing.T) {
	now := time.Now().UnixNano()
	old := nowNano
	var clockNow atomic.Int64
	clockNow.Store(now)
	nowNano = func() int64 { return clockNow.Load() }
	defer func() { nowNano = old }()

	var fail atomic.Bool
	fail.Store(true)
	bad := &Server{URL: "bad", Weight: 1, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if fail.Load() {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(200)
	})}
	good := &Server{URL: "good", Weight: 1, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })}
	p, _ := New([]*Server{bad, good}, Config{})
	h := NewHandler(p, HandlerOptions{MaxFails: 3, FailTimeout: 200 * time.Millisecond})
	codes := map[int]int{}
	for range 10 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req(t))
		codes[rec.Code]++
	}
	if codes[500] != 3 {
		t.Fatalf("codes %v: want exactly max_fails=3 failures before the ejection", codes)
	}
	if bad.Available() {
		t.Fatal("bad server not ejected")
	}
	// The ejection ends after failTimeout: the server is tried again.
	fail.Store(false)
	clockNow.Store(now + int64(time.Second))
	if !bad.Available() {
		t.Fatal("still ejected after the window")
	}
	seen := 0
	for range 4 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req(t))
		if rec.Code != 200 {
			t.Fatalf("code %d", rec.Code)
		}
		seen++
	}
	_ = seen
}

func TestWithhold(t *testing.T) {
	codes, err := ParseStatusSet([]string{"500-503", "429"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc       string
		status     int
		wantCaught bool
	}{
		{desc: "a retryable status is withheld", status: 502, wantCaught: true},
		{desc: "another listed status", status: 429, wantCaught: true},
		{desc: "a good answer goes through", status: 200},
		{desc: "an unlisted error goes through", status: 504},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("X-Before", "1")
			ww := NewWithhold(rec, codes, nil)
			ww.Header().Set("X-Upstream", "1")
			ww.WriteHeader(tt.status)
			_, _ = ww.Write([]byte("body"))
			ww.Flush()
			if ww.Caught() != tt.wantCaught {
				t.Fatalf("caught %v", ww.Caught())
			}
			if tt.wantCaught {
				if rec.Body.Len() != 0 || rec.Header().Get("X-Upstream") != "" || rec.Flushed {
					t.Fatal("a withheld response leaked")
				}
				return
			}
			if rec.Code != tt.status || rec.Body.String() != "body" || rec.Header().Get("X-Upstream") != "1" || rec.Header().Get("X-Before") != "1" || !rec.Flushed {
				t.Fatalf("passed response: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
			}
		})
	}
	for _, bad := range []string{"abc", "600", "503-500", "99"} {
		if _, err := ParseStatusSet([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
