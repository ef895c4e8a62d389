//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lbBackend is a backend a test can make unhealthy (its /health answers
// 503) or kill (its listener and connections closed).
type lbBackend struct {
	name    string
	url     string
	sick    atomic.Bool
	hits    atomic.Int64
	srv     *http.Server
	stopped atomic.Bool
}

func newLBBackend(t *testing.T, name string) *lbBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &lbBackend{name: name, url: "http://" + ln.Addr().String()}
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if b.sick.Load() {
				w.WriteHeader(503)
			}
			return
		}
		b.hits.Add(1)
		if d := r.URL.Query().Get("sleep"); d != "" {
			if dd, err := time.ParseDuration(d); err == nil {
				time.Sleep(dd)
			}
		}
		fmt.Fprint(w, name)
	})}
	go func() { _ = b.srv.Serve(ln) }()
	t.Cleanup(b.kill)
	return b
}

func (b *lbBackend) kill() {
	if b.stopped.CompareAndSwap(false, true) {
		_ = b.srv.Close()
	}
}

func lbConfig(strategy, extra string, backends ...*lbBackend) string {
	var s strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&s, "          - url: %q\n", b.url)
	}
	return fmt.Sprintf(`http:
  routers:
    r:
      rule: PathPrefix(%[1]s/%[1]s)
      service: s
  services:
    s:
      loadBalancer:
        strategy: %[2]s
%[3]s        servers:
%[4]s`, "`", strategy, extra, s.String())
}

func TestBalancingStrategies(t *testing.T) {
	a, b, c := newLBBackend(t, "a"), newLBBackend(t, "b"), newLBBackend(t, "c")
	tests := []struct {
		desc     string
		strategy string
		extra    string
		check    func(t *testing.T, counts map[string]int)
	}{
		{desc: "wrr spreads evenly", strategy: "wrr", check: func(t *testing.T, m map[string]int) {
			if m["a"] != 30 || m["b"] != 30 || m["c"] != 30 {
				t.Fatalf("%v", m)
			}
		}},
		{desc: "leastconn uses every server", strategy: "leastconn", check: func(t *testing.T, m map[string]int) {
			if m["a"] == 0 || m["b"] == 0 || m["c"] == 0 {
				t.Fatalf("%v", m)
			}
		}},
		{desc: "p2c uses every server", strategy: "p2c", check: func(t *testing.T, m map[string]int) {
			if len(m) != 3 {
				t.Fatalf("%v", m)
			}
		}},
		{desc: "random uses every server", strategy: "random", check: func(t *testing.T, m map[string]int) {
			if len(m) != 3 {
				t.Fatalf("%v", m)
			}
		}},
		{desc: "hash on a header pins one client", strategy: "hash", extra: "        hash:\n          key: header:X-User\n", check: func(t *testing.T, m map[string]int) {
			if len(m) != 1 {
				t.Fatalf("one user spread over %v", m)
			}
		}},
	}
	in := start(t, []string{"web"}, lbConfig("wrr", "", a, b, c))
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			in.writeDynamic(lbConfig(tt.strategy, tt.extra, a, b, c))
			// Wait for the reload: a config-specific probe is not
			// visible, so give the watcher its debounce and check once
			// every server answers.
			time.Sleep(300 * time.Millisecond)
			counts := map[string]int{}
			for range 90 {
				req, _ := http.NewRequest("GET", in.url("web", "/"), nil)
				req.Header.Set("X-User", "alice")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				counts[string(body)]++
			}
			tt.check(t, counts)
		})
	}
}

func TestBalancingHealthAndFailures(t *testing.T) {
	a, b := newLBBackend(t, "a"), newLBBackend(t, "b")
	extra := "        healthCheck:\n          path: /health\n          interval: 50ms\n          timeout: 40ms\n"
	in := start(t, []string{"web"}, lbConfig("leastconn", extra, a, b))
	eventually(t, 5*time.Second, func() string {
		seen := map[string]bool{}
		for range 10 {
			_, body := get(t, in.url("web", "/"), "")
			seen[body] = true
		}
		if !seen["a"] || !seen["b"] {
			return fmt.Sprintf("not both servers yet: %v", seen)
		}
		return ""
	})

	// Unhealthy: once the check notices, no request reaches it.
	a.sick.Store(true)
	time.Sleep(200 * time.Millisecond)
	before := a.hits.Load()
	for range 50 {
		if code, body := get(t, in.url("web", "/"), ""); code != 200 || body != "b" {
			t.Fatalf("got %d %q while a is unhealthy", code, body)
		}
	}
	if a.hits.Load() != before {
		t.Fatalf("%d requests reached the unhealthy server", a.hits.Load()-before)
	}
	a.sick.Store(false)
	eventually(t, 5*time.Second, func() string {
		for range 10 {
			if _, body := get(t, in.url("web", "/"), ""); body == "a" {
				return ""
			}
		}
		return "a did not come back"
	})

	// Killed while traffic flows: GETs without a body are retried on the
	// other server, so none fails.
	var wg sync.WaitGroup
	var failures, done atomic.Int64
	stop := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(in.url("web", "/?sleep=2ms"))
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	a.kill()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	// A request in flight on a when it died may fail (its response was
	// cut); with 2 ms requests and 8 clients that is at most 8.
	if f := failures.Load(); f > 8 {
		t.Fatalf("%d of %d requests failed after a server was killed; want at most the ones in flight", f, done.Load())
	}
	t.Logf("%d requests, %d failures (in flight at the kill)", done.Load(), failures.Load())

	// After the kill, idle: every GET succeeds (connect errors retried).
	for range 30 {
		if code, body := get(t, in.url("web", "/"), ""); code != 200 || body != "b" {
			t.Fatalf("after the kill: %d %q", code, body)
		}
	}
}

func TestBalancingBackupAndSticky(t *testing.T) {
	a, b, spare := newLBBackend(t, "a"), newLBBackend(t, "b"), newLBBackend(t, "spare")
	cfg := fmt.Sprintf(`http:
  routers:
    r:
      rule: PathPrefix(%[1]s/%[1]s)
      service: s
  services:
    s:
      loadBalancer:
        sticky:
          cookie:
            name: pin
            httpOnly: true
        passiveHealthCheck:
          maxFails: 1
          failTimeout: 30s
        servers:
          - url: %[2]q
          - url: %[3]q
          - url: %[4]q
            backup: true
`, "`", a.url, b.url, spare.url)
	in := start(t, []string{"web"}, cfg)
	resp, err := http.Get(in.url("web", "/"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var pin *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "pin" {
			pin = c
		}
	}
	if pin == nil || strings.Contains(pin.Value, "127.0.0.1") {
		t.Fatalf("sticky cookie %v", resp.Header["Set-Cookie"])
	}
	withPin := func() (int, string, string) {
		req, _ := http.NewRequest("GET", in.url("web", "/"), nil)
		req.AddCookie(pin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header.Get("Set-Cookie")
	}
	for range 20 {
		if _, body, _ := withPin(); body != string(first) {
			t.Fatalf("pinned to %q, got %q", first, body)
		}
	}
	// Both primaries die: the backup takes over, GETs do not fail.
	a.kill()
	b.kill()
	for range 20 {
		code, body, _ := withPin()
		if code != 200 || body != "spare" {
			t.Fatalf("primaries dead: got %d %q, want the backup", code, body)
		}
	}
}
