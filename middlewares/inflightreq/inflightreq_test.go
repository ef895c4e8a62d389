package inflightreq

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/berthproxy/berth/middlewares/internal/labeltest"
	"github.com/berthproxy/berth/pkg/ipstrategy"
	"github.com/berthproxy/berth/pkg/middleware"
)

func init() {
	// This test binary does not import middlewares/all.go.
	middleware.Register(Factory{})
}

// testName makes a middleware name of its own per test, so that tests do
// not share counters through the package's pool.
func testName(t *testing.T) string { return "t-" + t.Name() + "@test" }

func build(t *testing.T, name string, spec *Spec, next http.Handler) *handler {
	t.Helper()
	h, err := Factory{}.Build(middleware.BuildContext{}, name, spec, next)
	if err != nil {
		t.Fatal(err)
	}
	return h.(*handler)
}

func request(remote string) *http.Request {
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.RemoteAddr = remote
	return r
}

// gate is a backend that holds every request until it is opened, and says
// when each one arrives, so that tests can fill the slots without sleeping.
type gate struct {
	arrived chan struct{}
	open    chan struct{}
}

func newGate() *gate { return &gate{arrived: make(chan struct{}, 1000), open: make(chan struct{})} }

func (g *gate) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	g.arrived <- struct{}{}
	<-g.open
	_, _ = w.Write([]byte("backend"))
}

func TestLimitPerSource(t *testing.T) {
	tests := []struct {
		desc      string
		amount    int64
		criterion *ipstrategy.SourceCriterion
		// first fills the slots of one source; then probe is sent.
		first    func(i int) *http.Request
		probe    *http.Request
		wantCode int
	}{
		{
			desc: "same IP over the limit", amount: 2,
			first:    func(int) *http.Request { return request("192.0.2.1:1000") },
			probe:    request("192.0.2.1:2000"),
			wantCode: 429,
		},
		{
			desc: "another IP has its own slots", amount: 2,
			first:    func(int) *http.Request { return request("192.0.2.1:1000") },
			probe:    request("192.0.2.2:1000"),
			wantCode: 200,
		},
		{
			desc: "by header", amount: 1, criterion: &ipstrategy.SourceCriterion{RequestHeaderName: "X-User"},
			first: func(i int) *http.Request {
				r := request(fmt.Sprintf("192.0.2.%d:1", i+1))
				r.Header.Set("X-User", "alice")
				return r
			},
			probe: func() *http.Request {
				r := request("192.0.2.99:1")
				r.Header.Set("X-User", "alice")
				return r
			}(),
			wantCode: 429,
		},
		{
			desc: "by host, case-insensitively", amount: 1, criterion: &ipstrategy.SourceCriterion{RequestHost: true},
			first: func(int) *http.Request { return request("192.0.2.1:1") },
			probe: func() *http.Request {
				r := request("192.0.2.50:1")
				r.Host = "EXAMPLE.com"
				return r
			}(),
			wantCode: 429,
		},
		{
			desc: "by depth in X-Forwarded-For", amount: 1, criterion: &ipstrategy.SourceCriterion{IPStrategy: &ipstrategy.Options{Depth: 1}},
			first: func(int) *http.Request {
				r := request("10.0.0.1:1")
				r.Header.Set("X-Forwarded-For", "203.0.113.1")
				return r
			},
			probe: func() *http.Request {
				r := request("10.0.0.1:1")
				r.Header.Set("X-Forwarded-For", "203.0.113.2")
				return r
			}(),
			wantCode: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			g := newGate()
			h := build(t, testName(t), &Spec{Amount: tt.amount, SourceCriterion: tt.criterion}, g)
			var wg sync.WaitGroup
			for i := range int(tt.amount) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					h.ServeHTTP(httptest.NewRecorder(), tt.first(i))
				}()
				<-g.arrived
			}
			rec := httptest.NewRecorder()
			var openOnce sync.Once
			openGate := func() { openOnce.Do(func() { close(g.open) }) }
			// If the probe reaches the backend, let everything through,
			// so that a wrongly admitted probe fails the test instead of
			// hanging it.
			stop := make(chan struct{})
			go func() {
				select {
				case <-g.arrived:
					openGate()
				case <-stop:
				}
			}()
			h.ServeHTTP(rec, tt.probe)
			close(stop)
			openGate()
			wg.Wait()
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantCode)
			}
			if tt.wantCode == 429 && rec.Body.String() != "Too Many Requests" {
				t.Fatalf("body %q", rec.Body.String())
			}
			if n := h.counters.sources(); n != 0 {
				t.Fatalf("%d sources still counted after every request finished", n)
			}
		})
	}
}

// TestExactlyAmountAdmitted sends many simultaneous requests of one source:
// exactly amount must reach the backend, the others must be refused, and
// none may be held waiting.
func TestExactlyAmountAdmitted(t *testing.T) {
	const amount, total = 5, 40
	g := newGate()
	h := build(t, testName(t), &Spec{Amount: amount}, g)
	codes := make(chan int, total)
	var wg sync.WaitGroup
	for range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, request("192.0.2.1:1"))
			codes <- rec.Code
		}()
	}
	// Every request either reaches the backend (and blocks there) or is
	// answered at once; wait until all of them did one or the other.
	admitted, refused := 0, 0
	for admitted+refused < total {
		select {
		case <-g.arrived:
			admitted++
		case c := <-codes:
			if c != http.StatusTooManyRequests {
				t.Fatalf("a request finished with %d while the backend was closed", c)
			}
			refused++
		}
	}
	if admitted != amount || refused != total-amount {
		t.Fatalf("%d admitted and %d refused, want %d and %d", admitted, refused, amount, total-amount)
	}
	if n := h.counters.inFlight("192.0.2.1"); n != amount {
		t.Fatalf("counter %d, want %d", n, amount)
	}
	close(g.open)
	wg.Wait()
	if n := h.counters.sources(); n != 0 {
		t.Fatalf("counters not released: %d sources", n)
	}
}

// TestNeverMoreThanAmount hammers the middleware from a bounded number of
// workers and checks, in the backend, that no more than amount requests of
// one source ever run at once.
func TestNeverMoreThanAmount(t *testing.T) {
	const amount, workers, perWorker = 3, 16, 200
	var running, peak, served atomic.Int64
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		runtime.Gosched()
		served.Add(1)
		running.Add(-1)
	})
	h := build(t, testName(t), &Spec{Amount: amount}, next)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				h.ServeHTTP(httptest.NewRecorder(), request("192.0.2.1:1"))
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > amount {
		t.Fatalf("%d requests ran at once, limit %d", p, amount)
	}
	if served.Load() == 0 {
		t.Fatal("no request was served")
	}
	if n := h.counters.sources(); n != 0 {
		t.Fatalf("counters not released: %d sources", n)
	}
}

func TestReleasedOnPanic(t *testing.T) {
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	h := build(t, testName(t), &Spec{Amount: 1}, next)
	for i := range 3 {
		func() {
			defer func() {
				if v := recover(); v != http.ErrAbortHandler {
					t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
				}
			}()
			h.ServeHTTP(httptest.NewRecorder(), request("192.0.2.1:1"))
		}()
		if n := h.counters.inFlight("192.0.2.1"); n != 0 {
			t.Fatalf("after panic %d: %d slots still taken", i+1, n)
		}
	}
}

// TestCountersSurviveRebuild checks that a middleware rebuilt with the same
// name and options (as after an unrelated reload) sees the requests still
// running on the old handler, and that other names or criteria do not.
func TestCountersSurviveRebuild(t *testing.T) {
	g := newGate()
	name := testName(t)
	old := build(t, name, &Spec{Amount: 1}, g)
	done := make(chan struct{})
	go func() {
		old.ServeHTTP(httptest.NewRecorder(), request("192.0.2.1:1"))
		close(done)
	}()
	<-g.arrived

	tests := []struct {
		desc     string
		name     string
		spec     *Spec
		wantCode int
	}{
		{desc: "same name and options", name: name, spec: &Spec{Amount: 1}, wantCode: 429},
		{desc: "empty criterion is the default", name: name, spec: &Spec{Amount: 1, SourceCriterion: &ipstrategy.SourceCriterion{}}, wantCode: 429},
		{desc: "a larger amount applies to running requests", name: name, spec: &Spec{Amount: 2}, wantCode: 200},
		{desc: "another middleware", name: name + "-other", spec: &Spec{Amount: 1}, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := build(t, tt.name, tt.spec, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, request("192.0.2.1:1"))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantCode)
			}
		})
	}
	close(g.open)
	<-done
	runtime.KeepAlive(old)
}

func TestDoesNotModifyRequest(t *testing.T) {
	h := build(t, testName(t), &Spec{Amount: 1, SourceCriterion: &ipstrategy.SourceCriterion{RequestHeaderName: "X-User"}},
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := request("192.0.2.1:1")
	r.Header.Set("X-User", "a")
	before := r.Header.Clone()
	h.ServeHTTP(httptest.NewRecorder(), r)
	if len(r.Header) != len(before) || r.Header.Get("X-User") != "a" || r.RemoteAddr != "192.0.2.1:1" {
		t.Fatal("the request was modified")
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "ok", spec: Spec{Amount: 10}},
		{desc: "ok with criterion", spec: Spec{Amount: 10, SourceCriterion: &ipstrategy.SourceCriterion{RequestHost: true}}},
		{desc: "no amount", spec: Spec{}, wantErr: "amount: 0"},
		{desc: "negative amount", spec: Spec{Amount: -1}, wantErr: "amount: -1"},
		{desc: "two criteria", spec: Spec{Amount: 1, SourceCriterion: &ipstrategy.SourceCriterion{RequestHost: true, RequestHeaderName: "X"}}, wantErr: "sourceCriterion: requestHeaderName and requestHost are mutually exclusive"},
		{desc: "bad ipStrategy", spec: Spec{Amount: 1, SourceCriterion: &ipstrategy.SourceCriterion{IPStrategy: &ipstrategy.Options{IPv6Subnet: 200}}}, wantErr: "sourceCriterion.ipStrategy.ipv6Subnet"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.spec.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := (Factory{}).Build(middleware.BuildContext{}, "x", &Spec{}, http.NotFoundHandler()); err == nil {
		t.Fatal("Build accepted empty options")
	}
	if _, err := (Factory{}).Build(middleware.BuildContext{}, "x", struct{ middleware.Spec }{}, http.NotFoundHandler()); err == nil {
		t.Fatal("Build accepted foreign options")
	}
}

func TestDecodeLabels(t *testing.T) {
	tests := []struct {
		desc    string
		labels  map[string]string
		want    Spec
		wantErr string
	}{
		{
			desc:   "amount",
			labels: map[string]string{"http.middlewares.m.inflightreq.amount": "10"},
			want:   Spec{Amount: 10},
		},
		{
			desc: "sourceCriterion.ipStrategy",
			labels: map[string]string{
				"http.middlewares.m.inFlightReq.amount":                           "10",
				"http.middlewares.m.inFlightReq.sourceCriterion.ipStrategy.depth": "2",
			},
			want: Spec{Amount: 10, SourceCriterion: &ipstrategy.SourceCriterion{IPStrategy: &ipstrategy.Options{Depth: 2}}},
		},
		{
			desc: "sourceCriterion.requestHeaderName",
			labels: map[string]string{
				"http.middlewares.m.inflightreq.amount":                            "1",
				"http.middlewares.m.inflightreq.sourcecriterion.requestheadername": "X-User",
			},
			want: Spec{Amount: 1, SourceCriterion: &ipstrategy.SourceCriterion{RequestHeaderName: "X-User"}},
		},
		{
			desc: "two criteria",
			labels: map[string]string{
				"http.middlewares.m.inflightreq.amount":                            "1",
				"http.middlewares.m.inflightreq.sourcecriterion.requestheadername": "X-User",
				"http.middlewares.m.inflightreq.sourcecriterion.requesthost":       "true",
			},
			wantErr: "mutually exclusive",
		},
		{
			desc:    "missing amount",
			labels:  map[string]string{"http.middlewares.m.inflightreq.sourcecriterion.requesthost": "true"},
			wantErr: "amount",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg, issues := labeltest.Decode(t, tt.labels)
			if tt.wantErr != "" {
				if len(issues) == 0 || !strings.Contains(issues[0].Msg, tt.wantErr) {
					t.Fatalf("issues %+v, want %q", issues, tt.wantErr)
				}
				return
			}
			if len(issues) > 0 {
				t.Fatalf("issues: %+v", issues)
			}
			got := cfg.HTTP.Middlewares["m"].Spec.(*Spec)
			if fmt.Sprint(got.Amount, got.SourceCriterion != nil) != fmt.Sprint(tt.want.Amount, tt.want.SourceCriterion != nil) {
				t.Fatalf("decoded %+v, want %+v", got, tt.want)
			}
			if c := tt.want.SourceCriterion; c != nil {
				g := got.SourceCriterion
				if g.RequestHeaderName != c.RequestHeaderName || g.RequestHost != c.RequestHost || (c.IPStrategy != nil) != (g.IPStrategy != nil) ||
					(c.IPStrategy != nil && c.IPStrategy.Depth != g.IPStrategy.Depth) {
					t.Fatalf("decoded criterion %+v, want %+v", g, c)
				}
			}
		})
	}
}
