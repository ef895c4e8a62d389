package health

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

// toggled is a backend whose health endpoint a test switches.
func toggled(t *testing.T) (*url.URL, *atomic.Bool, *atomic.Int64) {
	t.Helper()
	var up atomic.Bool
	var hits atomic.Int64
	up.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/health" || !up.Load() {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u, &up, &hits
}

func TestRiseFall(t *testing.T) {
	tests := []struct {
		desc       string
		rise, fall int
	}{
		{desc: "Traefik's default flips on one result", rise: 1, fall: 1},
		{desc: "HAProxy's defaults rise 2 fall 3", rise: 2, fall: 3},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			u, up, _ := toggled(t)
			cfg, err := FromConfig(&config.HealthCheck{Path: "/health", Rise: tt.rise, Fall: tt.fall})
			if err != nil {
				t.Fatal(err)
			}
			c, err := newChecker(u, cfg, nopLogger())
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			step := func() { c.record(c.check(ctx), time.Now()) }
			step()
			if !c.status.Up() {
				t.Fatal("down after a passing check")
			}
			up.Store(false)
			for i := 1; i < tt.fall; i++ {
				step()
				if !c.status.Up() {
					t.Fatalf("down after %d failures, want fall=%d", i, tt.fall)
				}
			}
			step()
			if c.status.Up() {
				t.Fatalf("still up after %d failures", tt.fall)
			}
			up.Store(true)
			for i := 1; i < tt.rise; i++ {
				step()
				if c.status.Up() {
					t.Fatalf("up after %d passes, want rise=%d", i, tt.rise)
				}
			}
			step()
			if !c.status.Up() || c.status.Since() == 0 {
				t.Fatalf("not up after %d passes", tt.rise)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	f := false
	tests := []struct {
		desc    string
		hc      config.HealthCheck
		wantErr bool
		check   func(t *testing.T, c Config)
	}{
		{desc: "defaults", hc: config.HealthCheck{Path: "/h"}, check: func(t *testing.T, c Config) {
			if c.Interval != 30*time.Second || c.Timeout != 5*time.Second || c.Method != "GET" || c.Rise != 1 || c.Fall != 1 || !c.FollowRedirects || c.Mode != "http" {
				t.Fatalf("%+v", c)
			}
		}},
		{desc: "grpc needs no path", hc: config.HealthCheck{Mode: "grpc"}},
		{desc: "followRedirects false", hc: config.HealthCheck{Path: "/h", FollowRedirects: &f}, check: func(t *testing.T, c Config) {
			if c.FollowRedirects {
				t.Fatal("followRedirects")
			}
		}},
		{desc: "http needs a path", hc: config.HealthCheck{}, wantErr: true},
		{desc: "bad mode", hc: config.HealthCheck{Path: "/h", Mode: "tcp"}, wantErr: true},
		{desc: "bad status", hc: config.HealthCheck{Path: "/h", Status: 7}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := FromConfig(&tt.hc)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestCheckRequest(t *testing.T) {
	var got atomic.Pointer[http.Request]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r)
		w.WriteHeader(204)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	cfg, _ := FromConfig(&config.HealthCheck{Path: "/status?full=1", Method: "HEAD", Hostname: "app.local", Status: 204, Headers: map[string]string{"X-Check": "yes"}})
	c, _ := newChecker(u, cfg, nopLogger())
	if err := c.check(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := got.Load()
	if r.Method != "HEAD" || r.Host != "app.local" || r.URL.Path != "/status" || r.URL.RawQuery != "full=1" || r.Header.Get("X-Check") != "yes" {
		t.Fatalf("check request %s %s %s %v", r.Method, r.Host, r.URL, r.Header)
	}
	cfg.Status = 200
	c2, _ := newChecker(u, cfg, nopLogger())
	if err := c2.check(t.Context()); err == nil {
		t.Fatal("204 accepted where 200 is required")
	}
}

func TestPoolKeepsCheckersAcrossBuilds(t *testing.T) {
	u, up, hits := toggled(t)
	cfg, _ := FromConfig(&config.HealthCheck{Path: "/health", Interval: config.Duration(20 * time.Millisecond)})
	p := NewPool(nil, 80*time.Millisecond)
	defer p.Close()

	s1 := p.Session()
	st1, _ := s1.Status(u, cfg)
	s1.Commit()
	up.Store(false)
	waitFor(t, func() bool { return !st1.Up() })

	// A rebuild with the same server and check gets the same status:
	// the server stays down, no restart assumes it up.
	s2 := p.Session()
	st2, _ := s2.Status(u, cfg)
	s2.Commit()
	if st1 != st2 || st2.Up() {
		t.Fatal("the checker was restarted by a rebuild")
	}
	if p.Len() != 1 {
		t.Fatalf("%d checkers, want 1", p.Len())
	}
	// A build without the server: the checker stops after the grace.
	p.Session().Commit()
	waitFor(t, func() bool { return p.Len() == 0 })
	n := hits.Load()
	time.Sleep(60 * time.Millisecond)
	if hits.Load() > n+1 {
		t.Fatal("stopped checker still checks")
	}
}

func TestPassive(t *testing.T) {
	var p Passive
	t0 := time.Unix(1000, 0)
	if p.Failure(t0, 3, 10*time.Second) || p.Failure(t0.Add(time.Second), 3, 10*time.Second) {
		t.Fatal("ejected before max fails")
	}
	// The window of the first failure has passed: counting starts over.
	if p.Failure(t0.Add(11*time.Second), 3, 10*time.Second) {
		t.Fatal("old failures counted")
	}
	p.Failure(t0.Add(12*time.Second), 3, 10*time.Second)
	if !p.Failure(t0.Add(13*time.Second), 3, 10*time.Second) {
		t.Fatal("not ejected after 3 failures in the window")
	}
	if p.Available(t0.Add(14 * time.Second).UnixNano()) {
		t.Fatal("available while ejected")
	}
	if !p.Available(t0.Add(23 * time.Second).UnixNano()) {
		t.Fatal("still ejected after failTimeout")
	}
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	for range 300 {
		if f() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 3s")
}
