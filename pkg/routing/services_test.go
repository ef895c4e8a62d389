package routing

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

func intp(i int) *int { return &i }

// table builds a table with one router "r" on "web" for every request,
// sending to service svc.
func table(t *testing.T, deps Deps, svc string, services map[string]*config.Service) *Table {
	t.Helper()
	cfg := &config.Dynamic{HTTP: &config.HTTP{
		Routers:  map[string]*config.Router{"r@file": {Rule: "PathPrefix(`/`)", Service: svc, EntryPoints: []string{"web"}}},
		Services: services,
	}}
	return Build(cfg, nil, 1, deps)
}

func TestCompositeServices(t *testing.T) {
	a, b, c := backendForTest(t, "a"), backendForTest(t, "b"), backendForTest(t, "c")
	deps := testDeps(t)
	t.Cleanup(deps.Pools.Health.Close)

	t.Run("weighted canary", func(t *testing.T) {
		tb := table(t, deps, "canary", map[string]*config.Service{
			"canary@file": {Weighted: &config.WeightedService{Services: []config.WeightedRef{{Name: "stable", Weight: intp(9)}, {Name: "next", Weight: intp(1)}}}},
			"stable@file": lb(a),
			"next@file":   lb(b),
		})
		got := map[string]int{}
		for range 100 {
			_, body, _ := serve(t, tb, "web", "x", "/")
			got[body]++
		}
		if got["a"] != 90 || got["b"] != 10 {
			t.Fatalf("shares %v, want 90/10", got)
		}
	})
	t.Run("weighted skips a child service that is down", func(t *testing.T) {
		tb := table(t, deps, "canary", map[string]*config.Service{
			"canary@file": {Weighted: &config.WeightedService{Services: []config.WeightedRef{{Name: "stable"}, {Name: "empty"}}}},
			"stable@file": lb(a),
			"empty@file":  lb(),
		})
		for range 10 {
			if _, body, _ := serve(t, tb, "web", "x", "/"); body != "a" {
				t.Fatalf("body %q", body)
			}
		}
	})
	t.Run("failover on health", func(t *testing.T) {
		tb := table(t, deps, "fo", map[string]*config.Service{
			"fo@file":    {Failover: &config.FailoverService{Service: "main", Fallback: "spare"}},
			"main@file":  lb(),
			"spare@file": lb(c),
		})
		if _, body, _ := serve(t, tb, "web", "x", "/"); body != "c" {
			t.Fatalf("body %q, want the fallback", body)
		}
	})
	t.Run("failover on status codes", func(t *testing.T) {
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Main", "1")
			w.WriteHeader(503)
			_, _ = io.WriteString(w, "main is sick")
		}))
		defer bad.Close()
		tb := table(t, deps, "fo", map[string]*config.Service{
			"fo@file":    {Failover: &config.FailoverService{Service: "main", Fallback: "spare", StatusCodes: []string{"500-599"}}},
			"main@file":  lb(bad.URL),
			"spare@file": lb(c),
		})
		code, body, h := serve(t, tb, "web", "x", "/")
		if code != 200 || body != "c" || h.Get("X-Main") != "" {
			t.Fatalf("got %d %q %v, want the fallback's answer only", code, body, h)
		}
	})
	t.Run("mirroring", func(t *testing.T) {
		var mirrored atomic.Int64
		m := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if string(b) == "payload" {
				mirrored.Add(1)
			}
		}))
		defer m.Close()
		tb := table(t, deps, "mir", map[string]*config.Service{
			"mir@file":    {Mirroring: &config.MirroringService{Service: "main", Mirrors: []config.MirrorRef{{Name: "shadow", Percent: 50}}}},
			"main@file":   lb(a),
			"shadow@file": lb(m.URL),
		})
		h := tb.Handler("web")
		for range 20 {
			r := httptest.NewRequest("POST", "http://x/", strings.NewReader("payload"))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Body.String() != "a" {
				t.Fatalf("main answer %q", rec.Body.String())
			}
		}
		deadline := time.Now().Add(3 * time.Second)
		for mirrored.Load() < 10 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		if n := mirrored.Load(); n != 10 {
			t.Fatalf("%d of 20 requests mirrored with their body, want 50%% = 10", n)
		}
	})
}

func TestServiceErrors(t *testing.T) {
	deps := testDeps(t)
	t.Cleanup(deps.Pools.Health.Close)
	tests := []struct {
		desc     string
		services map[string]*config.Service
		svc      string
		wantErr  string
	}{
		{
			desc: "cycle between composite services",
			svc:  "a",
			services: map[string]*config.Service{
				"a@file": {Weighted: &config.WeightedService{Services: []config.WeightedRef{{Name: "b"}}}},
				"b@file": {Failover: &config.FailoverService{Service: "a", Fallback: "c"}},
				"c@file": lb("http://127.0.0.1:1"),
			},
			wantErr: "reference cycle: a@file -> b@file -> a@file",
		},
		{
			desc:     "self mirror",
			svc:      "m",
			services: map[string]*config.Service{"m@file": {Mirroring: &config.MirroringService{Service: "m"}}},
			wantErr:  "reference cycle: m@file -> m@file",
		},
		{
			desc:     "unknown child",
			svc:      "w",
			services: map[string]*config.Service{"w@file": {Weighted: &config.WeightedService{Services: []config.WeightedRef{{Name: "nope"}}}}},
			wantErr:  `service "nope@file" does not exist`,
		},
		{
			desc:     "unknown strategy",
			svc:      "s",
			services: map[string]*config.Service{"s@file": {LoadBalancer: &config.LoadBalancer{Strategy: "fastest", Servers: []config.Server{{URL: "http://127.0.0.1:1"}}}}},
			wantErr:  `unknown strategy "fastest"`,
		},
		{
			desc: "hash options without the hash strategy",
			svc:  "s",
			services: map[string]*config.Service{"s@file": {LoadBalancer: &config.LoadBalancer{
				Hash: &config.HashOptions{Key: "uri"}, Servers: []config.Server{{URL: "http://127.0.0.1:1"}}}}},
			wantErr: "set strategy: hash",
		},
		{
			desc: "bad sameSite",
			svc:  "s",
			services: map[string]*config.Service{"s@file": {LoadBalancer: &config.LoadBalancer{
				Sticky: &config.Sticky{Cookie: &config.StickyCookie{SameSite: "sometimes"}}, Servers: []config.Server{{URL: "http://127.0.0.1:1"}}}}},
			wantErr: "sameSite",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			tb := table(t, deps, tt.svc, tt.services)
			si := tb.Services[tt.svc+"@file"]
			if si == nil || si.Status != StatusDisabled || !strings.Contains(strings.Join(si.Errors, ";"), tt.wantErr) {
				t.Fatalf("service info %+v, want disabled with %q", si, tt.wantErr)
			}
		})
	}
}

func TestStickyAcrossRebuild(t *testing.T) {
	deps := testDeps(t)
	t.Cleanup(deps.Pools.Health.Close)
	urls := []string{backendForTest(t, "a"), backendForTest(t, "b"), backendForTest(t, "c")}
	svc := func(urls ...string) map[string]*config.Service {
		s := lb(urls...)
		s.LoadBalancer.Sticky = &config.Sticky{Cookie: &config.StickyCookie{Name: "pin"}}
		return map[string]*config.Service{"s@file": s}
	}
	tb := table(t, deps, "s", svc(urls...))
	_, first, h := serve(t, tb, "web", "x", "/")
	cookie := h.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "pin=") || strings.Contains(cookie, "127.0.0.1") {
		t.Fatalf("cookie %q", cookie)
	}
	val := strings.TrimPrefix(strings.Split(cookie, ";")[0], "pin=")
	send := func(tb *Table) (string, string) {
		r := httptest.NewRequest("GET", "http://x/", nil)
		r.AddCookie(&http.Cookie{Name: "pin", Value: val})
		rec := httptest.NewRecorder()
		tb.Handler("web").ServeHTTP(rec, r)
		return rec.Body.String(), rec.Header().Get("Set-Cookie")
	}
	// Rebuilt twice, once with a server added: still pinned.
	for _, tb := range []*Table{table(t, deps, "s", svc(urls...)), table(t, deps, "s", svc(append(urls, backendForTest(t, "d"))...))} {
		for range 5 {
			if body, set := send(tb); body != first || set != "" {
				t.Fatalf("got %q (Set-Cookie %q), want pinned to %q", body, set, first)
			}
		}
	}
	// The pinned server removed: re-pinned elsewhere with a new cookie.
	var rest []string
	for _, u := range urls {
		if _, b, _ := serve(t, table(t, deps, "s", svc(u)), "web", "x", "/"); b != first {
			rest = append(rest, u)
		}
	}
	body, set := send(table(t, deps, "s", svc(rest...)))
	if body == first || !strings.HasPrefix(set, "pin=") {
		t.Fatalf("pinned server gone: got %q with Set-Cookie %q", body, set)
	}
}

func TestHealthCheckedServiceAvoidsDownServer(t *testing.T) {
	deps := testDeps(t)
	t.Cleanup(deps.Pools.Health.Close)
	var up atomic.Bool
	up.Store(true)
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && !up.Load() {
			w.WriteHeader(500)
			return
		}
		_, _ = io.WriteString(w, "sick")
	}))
	defer sick.Close()
	well := backendForTest(t, "well")
	s := lb(sick.URL, well)
	s.LoadBalancer.HealthCheck = &config.HealthCheck{Path: "/health", Interval: config.Duration(20 * time.Millisecond)}
	tb := table(t, deps, "s", map[string]*config.Service{"s@file": s})
	up.Store(false)
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := 0
		for range 10 {
			if _, b, _ := serve(t, tb, "web", "x", "/"); b == "sick" {
				n++
			}
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the unhealthy server still gets requests")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A rebuild keeps the checker, so the server stays out at once.
	tb = table(t, deps, "s", map[string]*config.Service{"s@file": s})
	for range 10 {
		if _, b, _ := serve(t, tb, "web", "x", "/"); b == "sick" {
			t.Fatal("a rebuild forgot the server was down")
		}
	}
}
