package routing

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/middleware"
	"github.com/berthproxy/berth/pkg/proxy"
)

// tagSpecForTest and tagFactoryForTest are a test double of a middleware:
// it appends its name to the X-Chain response header, so a test can see
// which middlewares ran and in which order.
type tagSpecForTest struct{ Name string }

func (s *tagSpecForTest) Validate() error {
	if s.Name == "" {
		return errors.New("name is required")
	}
	return nil
}

type tagFactoryForTest struct{}

func (tagFactoryForTest) Type() string             { return "tagForTest" }
func (tagFactoryForTest) NewSpec() middleware.Spec { return &tagSpecForTest{} }
func (tagFactoryForTest) Build(_ middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	name := spec.(*tagSpecForTest).Name
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Chain", name)
		next.ServeHTTP(w, r)
	}), nil
}

// chainSpecForTest and chainFactoryForTest stand in for the chain
// middleware (which lives in middlewares/, which pkg/ must not import).
type chainSpecForTest struct{ Middlewares []string }

func (s *chainSpecForTest) Validate() error { return nil }

type chainFactoryForTest struct{}

func (chainFactoryForTest) Type() string             { return "chainForTest" }
func (chainFactoryForTest) NewSpec() middleware.Spec { return &chainSpecForTest{} }
func (chainFactoryForTest) Build(ctx middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	return ctx.Chain(spec.(*chainSpecForTest).Middlewares, next)
}

func init() {
	middleware.Register(tagFactoryForTest{})
	middleware.Register(chainFactoryForTest{})
}

func tag(name string) *config.Middleware {
	return &config.Middleware{Type: "tagForTest", Spec: &tagSpecForTest{Name: name}}
}

func chainOf(names ...string) *config.Middleware {
	return &config.Middleware{Type: "chainForTest", Spec: &chainSpecForTest{Middlewares: names}}
}

// backendForTest starts a loopback backend that answers with its name.
func backendForTest(t *testing.T, name string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func lb(urls ...string) *config.Service {
	s := &config.Service{LoadBalancer: &config.LoadBalancer{}}
	for _, u := range urls {
		s.LoadBalancer.Servers = append(s.LoadBalancer.Servers, config.Server{URL: u})
	}
	return s
}

func testDeps(t *testing.T) Deps {
	pool := proxy.NewPool(zap.NewNop())
	t.Cleanup(func() { _ = pool.Close() })
	return Deps{
		EntryPoints: map[string]*config.EntryPoint{"web": {}, "other": {}},
		Pools:       NewPools(pool),
		Internal:    map[string]http.Handler{},
	}
}

// serve sends a request through the table's entrypoint handler.
func serve(t *testing.T, tb *Table, ep, host, path string) (int, string, http.Header) {
	t.Helper()
	h := tb.Handler(ep)
	if h == nil {
		t.Fatalf("no handler for entrypoint %q", ep)
	}
	r := httptest.NewRequest("GET", "http://"+host+path, nil)
	r.RemoteAddr = "127.0.0.1:1234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String(), w.Header()
}

func TestBuildRouting(t *testing.T) {
	a, b, c := backendForTest(t, "a"), backendForTest(t, "b"), backendForTest(t, "c")
	cfg := &config.Dynamic{HTTP: &config.HTTP{
		Routers: map[string]*config.Router{
			"host-a@file":     {Rule: "Host(`a.example.com`)", Service: "a"},
			"host-a-api@file": {Rule: "Host(`a.example.com`) && PathPrefix(`/api`)", Service: "b"},
			"wild@file":       {Rule: "Host(`*.example.com`)", Service: "c"},
			"any-health@file": {Rule: "Path(`/health`)", Service: "c", Priority: 1000},
			"low@file":        {Rule: "PathPrefix(`/`)", Service: "b", Priority: 1},
			"other-ep@file":   {Rule: "Host(`x.test`)", Service: "a", EntryPoints: []string{"other"}},
			"tls-only@file":   {Rule: "Host(`secure.test`)", Service: "a", TLS: &config.RouterTLS{}},
		},
		Services: map[string]*config.Service{"a@file": lb(a), "b@file": lb(b), "c@file": lb(c)},
	}}
	tb := Build(cfg, nil, 1, testDeps(t))
	if len(tb.Issues) != 0 {
		t.Fatalf("unexpected issues: %v", tb.Issues)
	}
	tests := []struct {
		desc, ep, host, path string
		code                 int
		body                 string
	}{
		{desc: "exact host", ep: "web", host: "a.example.com", path: "/", code: 200, body: "a"},
		{desc: "longer rule wins by default priority", ep: "web", host: "a.example.com", path: "/api/x", code: 200, body: "b"},
		{desc: "host with port and upper case", ep: "web", host: "A.Example.COM:8080", path: "/", code: 200, body: "a"},
		{desc: "wildcard host", ep: "web", host: "z.example.com", path: "/", code: 200, body: "c"},
		{desc: "wildcard does not match two labels", ep: "web", host: "y.z.example.com", path: "/", code: 200, body: "b"},
		{desc: "explicit priority of an any-host router beats host routers", ep: "web", host: "a.example.com", path: "/health", code: 200, body: "c"},
		{desc: "catch-all for unknown hosts", ep: "web", host: "unknown.test", path: "/x", code: 200, body: "b"},
		{desc: "router on another entrypoint only", ep: "other", host: "x.test", path: "/", code: 200, body: "a"},
		{desc: "router of another entrypoint is not on web", ep: "web", host: "x.test", path: "/", code: 200, body: "b"},
		{desc: "TLS router does not serve plain HTTP, the catch-all does", ep: "other", host: "secure.test", path: "/", code: 200, body: "b"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, body, _ := serve(t, tb, tc.ep, tc.host, tc.path)
			if code != tc.code || body != tc.body {
				t.Fatalf("got %d %q, want %d %q", code, body, tc.code, tc.body)
			}
		})
	}
}

func TestBuildDisablesOnlyBrokenObjects(t *testing.T) {
	a := backendForTest(t, "a")
	tests := []struct {
		desc    string
		router  *config.Router
		extra   func(*config.HTTP)
		issues  []config.Issue // from the provider's decoding
		wantMsg string
	}{
		{desc: "bad rule", router: &config.Router{Rule: "Host(`x`", Service: "a"}, wantMsg: "rule: unexpected end of rule"},
		{desc: "no rule", router: &config.Router{Service: "a"}, wantMsg: "router has no rule"},
		{desc: "missing service with suggestion", router: &config.Router{Rule: "Host(`x`)", Service: "aa"}, wantMsg: `service "aa@file" does not exist; did you mean "a@file"?`},
		{desc: "unknown entrypoint only", router: &config.Router{Rule: "Host(`x`)", Service: "a", EntryPoints: []string{"websecure"}}, wantMsg: "router is on no existing entrypoint"},
		{desc: "missing middleware", router: &config.Router{Rule: "Host(`x`)", Service: "a", Middlewares: []string{"nope"}}, wantMsg: `middleware "nope@file" does not exist`},
		{desc: "middleware dropped by the decoder", router: &config.Router{Rule: "Host(`x`)", Service: "a", Middlewares: []string{"gz"}},
			issues:  []config.Issue{{Kind: "middleware", Object: "gz@file", Msg: `middleware type "compress" is a Traefik middleware that berth does not support yet`, Fatal: true}},
			wantMsg: `middleware "gz@file" is disabled: middleware type "compress" is a Traefik middleware`},
		{desc: "service dropped by the decoder", router: &config.Router{Rule: "Host(`x`)", Service: "svc"},
			issues:  []config.Issue{{Kind: "service", Object: "svc@file", Msg: `"loadBalancer.servers[0].weight": want a number`, Fatal: true}},
			wantMsg: `service "svc@file" is disabled: "loadBalancer.servers[0].weight": want a number`},
		{desc: "chain cycle", router: &config.Router{Rule: "Host(`x`)", Service: "a", Middlewares: []string{"c1"}},
			extra: func(h *config.HTTP) {
				h.Middlewares["c1@file"] = chainOf("c2")
				h.Middlewares["c2@file"] = chainOf("c1")
			}, wantMsg: "reference cycle"},
		{desc: "bad server URL", router: &config.Router{Rule: "Host(`x`)", Service: "bad"},
			extra: func(h *config.HTTP) { h.Services["bad@file"] = lb("ftp://x") }, wantMsg: "scheme must be http, https or h2c"},
		{desc: "unknown strategy", router: &config.Router{Rule: "Host(`x`)", Service: "bad"},
			extra: func(h *config.HTTP) {
				s := lb(a)
				s.LoadBalancer.Strategy = "fastest"
				h.Services["bad@file"] = s
			}, wantMsg: `unknown strategy "fastest"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			h := &config.HTTP{
				Routers: map[string]*config.Router{
					"good@file":   {Rule: "Host(`good.test`)", Service: "a"},
					"broken@file": tc.router,
				},
				Services:    map[string]*config.Service{"a@file": lb(a)},
				Middlewares: map[string]*config.Middleware{},
			}
			if tc.extra != nil {
				tc.extra(h)
			}
			tb := Build(&config.Dynamic{HTTP: h}, tc.issues, 1, testDeps(t))
			if code, body, _ := serve(t, tb, "web", "good.test", "/"); code != 200 || body != "a" {
				t.Fatalf("good router: got %d %q", code, body)
			}
			info := tb.Routers["broken@file"]
			if info.Status != StatusDisabled {
				t.Fatalf("broken router status %q, want disabled", info.Status)
			}
			found := false
			for _, is := range tb.Issues {
				if is.Object == "broken@file" && is.Fatal && strings.Contains(is.Msg, tc.wantMsg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no fatal issue for broken@file containing %q; issues: %v", tc.wantMsg, tb.Issues)
			}
			if code, _, _ := serve(t, tb, "web", "x", "/"); code != 404 {
				t.Fatalf("broken router answered %d, want 404", code)
			}
		})
	}
}

func TestBuildMiddlewareOrder(t *testing.T) {
	a := backendForTest(t, "a")
	cfg := &config.Dynamic{HTTP: &config.HTTP{
		Routers: map[string]*config.Router{
			"r@file": {Rule: "Host(`x`)", Service: "a", Middlewares: []string{"one", "both", "four@other"}},
		},
		Services: map[string]*config.Service{"a@file": lb(a)},
		Middlewares: map[string]*config.Middleware{
			"one@file":   tag("1"),
			"two@file":   tag("2"),
			"three@file": tag("3"),
			"both@file":  chainOf("two", "three"),
			"four@other": tag("4"),
		},
	}}
	tb := Build(cfg, nil, 1, testDeps(t))
	code, _, hdr := serve(t, tb, "web", "x", "/")
	if code != 200 {
		t.Fatalf("got %d; issues %v", code, tb.Issues)
	}
	if got := strings.Join(hdr.Values("X-Chain"), ","); got != "1,2,3,4" {
		t.Fatalf("middleware order %q, want 1,2,3,4", got)
	}
	if used := tb.Middlewares["two@file"].UsedBy; len(used) != 1 || used[0] != "r@file" {
		t.Fatalf("two@file usedBy %v", used)
	}
}

func TestBuildServiceWithoutServersAnswers503(t *testing.T) {
	cfg := &config.Dynamic{HTTP: &config.HTTP{
		Routers:  map[string]*config.Router{"r@file": {Rule: "Host(`x`)", Service: "empty"}},
		Services: map[string]*config.Service{"empty@file": lb()},
	}}
	tb := Build(cfg, nil, 1, testDeps(t))
	if code, _, _ := serve(t, tb, "web", "x", "/"); code != 503 {
		t.Fatalf("got %d, want 503", code)
	}
	if s := tb.Services["empty@file"]; s.Status != StatusWarning {
		t.Fatalf("status %q, want warning", s.Status)
	}
}

// BenchmarkRoute measures finding the router for a request in a table of
// 1,000 host routers, the cost the host index keeps flat.
func BenchmarkRoute(b *testing.B) {
	h := &config.HTTP{Routers: map[string]*config.Router{}, Services: map[string]*config.Service{"s@file": lb("http://127.0.0.1:1")}}
	for i := 0; i < 1000; i++ {
		h.Routers[fmt.Sprintf("r%d@file", i)] = &config.Router{Rule: fmt.Sprintf("Host(`h%d.example.com`) && PathPrefix(`/`)", i), Service: "s"}
	}
	pool := proxy.NewPool(zap.NewNop())
	defer pool.Close()
	tb := Build(&config.Dynamic{HTTP: h}, nil, 1, Deps{EntryPoints: map[string]*config.EntryPoint{"web": {}}, Pools: NewPools(pool)})
	ep := tb.entryPoints["web"]
	r := httptest.NewRequest("GET", "http://h999.example.com/x", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ep.plain.match(r) == nil {
			b.Fatal("no match")
		}
	}
}
