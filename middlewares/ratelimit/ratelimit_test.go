package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/berthproxy/berth/middlewares/internal/labeltest"
	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/ipstrategy"
	"github.com/berthproxy/berth/pkg/middleware"
)

func init() {
	// This test binary does not import middlewares/all.go.
	middleware.Register(Factory{})
}

// clock is a fake clock: time moves only when a test says so.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// testName makes a middleware name of its own per test, so that tests do
// not share buckets through the package's pool.
func testName(t *testing.T) string { return "t-" + t.Name() + "@test" }

var backend = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("backend")) })

// build makes a handler on a fake clock whose waits are recorded, not
// slept.
func build(t *testing.T, name string, spec *Spec, c *clock, waits *[]time.Duration) *handler {
	t.Helper()
	s := *spec
	if s.Period == 0 {
		s.Period = config.Duration(time.Second)
	}
	h, err := Factory{}.Build(middleware.BuildContext{}, name, &s, backend)
	if err != nil {
		t.Fatal(err)
	}
	rl, ok := h.(*handler)
	if !ok {
		t.Fatalf("Build returned %T", h)
	}
	rl.now = c.now
	rl.wait = func(_ context.Context, d time.Duration) bool {
		if waits != nil {
			*waits = append(*waits, d)
		}
		return true
	}
	return rl
}

func request(remote string) *http.Request {
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.RemoteAddr = remote
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestBurstThenRefuse(t *testing.T) {
	tests := []struct {
		desc           string
		spec           Spec
		wantRetryAfter string
		wantRetryIn    string
	}{
		{desc: "100/s burst 50", spec: Spec{Average: 100, Burst: 50}, wantRetryAfter: "1", wantRetryIn: "10ms"},
		{desc: "6/min burst 3", spec: Spec{Average: 6, Period: config.Duration(time.Minute), Burst: 3}, wantRetryAfter: "10", wantRetryIn: "10s"},
		{desc: "1/s default burst", spec: Spec{Average: 1}, wantRetryAfter: "1", wantRetryIn: "1s"},
		{desc: "burst 0 means 1", spec: Spec{Average: 1, Burst: 0}, wantRetryAfter: "1", wantRetryIn: "1s"},
		{desc: "2/s: half a second rounds up", spec: Spec{Average: 2, Burst: 4}, wantRetryAfter: "1", wantRetryIn: "500ms"},
		{desc: "1 per 90s", spec: Spec{Average: 1, Period: config.Duration(90 * time.Second), Burst: 2}, wantRetryAfter: "90", wantRetryIn: "1m30s"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := &clock{t: time.Unix(1_000_000, 0)}
			h := build(t, testName(t), &tt.spec, c, nil)
			burst := max(int(tt.spec.Burst), 1)
			// burst+1 requests at the same instant: exactly burst pass.
			for i := range burst {
				if rec := serve(h, request("192.0.2.1:1")); rec.Code != 200 {
					t.Fatalf("request %d of the burst: status %d", i+1, rec.Code)
				}
			}
			rec := serve(h, request("192.0.2.1:1"))
			if rec.Code != http.StatusTooManyRequests {
				t.Fatalf("request %d: status %d, want 429", burst+1, rec.Code)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.wantRetryAfter)
			}
			if got := rec.Header().Get("X-Retry-In"); got != tt.wantRetryIn {
				t.Errorf("X-Retry-In %q, want %q", got, tt.wantRetryIn)
			}
			if rec.Body.String() != "Too Many Requests" {
				t.Errorf("body %q", rec.Body.String())
			}
			// A refused request takes no token: still refused while
			// nothing refilled, and admitted once one token has.
			if rec := serve(h, request("192.0.2.1:1")); rec.Code != 429 {
				t.Fatalf("second refusal: status %d", rec.Code)
			}
			limit, _ := tt.spec.limits()
			c.advance(time.Duration(float64(time.Second) / float64(limit)))
			if rec := serve(h, request("192.0.2.1:1")); rec.Code != 200 {
				t.Fatalf("after one token interval: status %d, want 200", rec.Code)
			}
			if rec := serve(h, request("192.0.2.1:1")); rec.Code != 429 {
				t.Fatalf("one token admits one request; the next got %d", rec.Code)
			}
		})
	}
}

// TestLongRunRate sends a request every millisecond for ten simulated
// seconds; the number admitted must be the burst plus the rate times the
// duration, whatever the traffic shape.
func TestLongRunRate(t *testing.T) {
	tests := []struct {
		desc  string
		spec  Spec
		step  time.Duration
		total time.Duration
		want  int // burst + rate × total, worked out by hand
	}{
		{desc: "10/s burst 5, every 1ms", spec: Spec{Average: 10, Burst: 5}, step: time.Millisecond, total: 10 * time.Second, want: 5 + 100},
		{desc: "100/s burst 1, every 3ms", spec: Spec{Average: 100, Burst: 1}, step: 3 * time.Millisecond, total: 10 * time.Second, want: 1 + 1000},
		{desc: "30/min burst 10, every 100ms", spec: Spec{Average: 30, Period: config.Duration(time.Minute), Burst: 10}, step: 100 * time.Millisecond, total: 5 * time.Minute, want: 10 + 150},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := &clock{t: time.Unix(1_000_000, 0)}
			var waits []time.Duration
			h := build(t, testName(t), &tt.spec, c, &waits)
			admitted := 0
			for elapsed := time.Duration(0); elapsed < tt.total; elapsed += tt.step {
				if serve(h, request("192.0.2.1:1")).Code == 200 {
					admitted++
				}
				c.advance(tt.step)
			}
			// Within one token: the last reservation may be in flight.
			if admitted < tt.want-1 || admitted > tt.want+1 {
				t.Fatalf("%d admitted, want %d (±1)", admitted, tt.want)
			}
			limit, _ := tt.spec.limits()
			md := maxDelay(limit)
			for _, w := range waits {
				if w <= 0 || w > md {
					t.Fatalf("a request waited %v, want (0, %v]", w, md)
				}
			}
		})
	}
}

// TestShaping checks Traefik's smoothing: a request that comes a little
// before its token waits for it rather than being refused.
func TestShaping(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	var waits []time.Duration
	// 10/s: a token every 100ms; a request may wait up to 50ms.
	h := build(t, testName(t), &Spec{Average: 10, Burst: 1}, c, &waits)
	if rec := serve(h, request("192.0.2.1:1")); rec.Code != 200 {
		t.Fatalf("first: %d", rec.Code)
	}
	c.advance(60 * time.Millisecond) // 40ms early: waits.
	if rec := serve(h, request("192.0.2.1:1")); rec.Code != 200 || len(waits) != 1 || waits[0] != 40*time.Millisecond {
		t.Fatalf("40ms early: status %d, waits %v; want 200 after 40ms", rec.Code, waits)
	}
	c.advance(40 * time.Millisecond) // Now the second token's time; the third is 100ms away.
	if rec := serve(h, request("192.0.2.1:1")); rec.Code != 429 || rec.Header().Get("X-Retry-In") != "100ms" {
		t.Fatalf("100ms early: status %d, X-Retry-In %q; want 429 in 100ms", rec.Code, rec.Header().Get("X-Retry-In"))
	}
}

func TestClientGoneWhileWaiting(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	h := build(t, testName(t), &Spec{Average: 10, Burst: 1}, c, nil)
	var served atomic.Int64
	h.next = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) })
	h.wait = func(context.Context, time.Duration) bool { return false }
	serve(h, request("192.0.2.1:1"))
	c.advance(70 * time.Millisecond)
	if rec := serve(h, request("192.0.2.1:1")); rec.Code != 499 || served.Load() != 1 {
		t.Fatalf("status %d, %d served; want 499 and the backend not called", rec.Code, served.Load())
	}
	// The abandoned reservation was cancelled: the token is there on time.
	c.advance(30 * time.Millisecond)
	h.wait = func(context.Context, time.Duration) bool {
		t.Fatal("waited for a token that should be there")
		return false
	}
	if rec := serve(h, request("192.0.2.1:1")); rec.Code != 200 {
		t.Fatalf("after the cancelled wait: status %d", rec.Code)
	}
}

func TestRealWaitHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sleepCtx(ctx, time.Hour) {
		t.Fatal("sleepCtx waited out a cancelled context")
	}
	if !sleepCtx(context.Background(), time.Microsecond) {
		t.Fatal("sleepCtx did not report a complete wait")
	}
}

func TestSourcesAreSeparate(t *testing.T) {
	tests := []struct {
		desc      string
		criterion *ipstrategy.SourceCriterion
		a, b      func() *http.Request
		separate  bool
	}{
		{desc: "two IPs", a: func() *http.Request { return request("192.0.2.1:1") }, b: func() *http.Request { return request("192.0.2.2:1") }, separate: true},
		{desc: "one IP, two ports", a: func() *http.Request { return request("192.0.2.1:1") }, b: func() *http.Request { return request("192.0.2.1:2") }},
		{
			desc: "IPv6 subnet groups a prefix", criterion: &ipstrategy.SourceCriterion{IPStrategy: &ipstrategy.Options{IPv6Subnet: 64}},
			a: func() *http.Request { return request("[2001:db8::1]:1") }, b: func() *http.Request { return request("[2001:db8::2]:1") },
		},
		{
			desc: "header values", criterion: &ipstrategy.SourceCriterion{RequestHeaderName: "X-Key"},
			a: func() *http.Request { r := request("192.0.2.1:1"); r.Header.Set("X-Key", "a"); return r },
			b: func() *http.Request { r := request("192.0.2.1:1"); r.Header.Set("X-Key", "b"); return r }, separate: true,
		},
		{
			desc: "requests without the header share a source", criterion: &ipstrategy.SourceCriterion{RequestHeaderName: "X-Key"},
			a: func() *http.Request { return request("192.0.2.1:1") }, b: func() *http.Request { return request("192.0.2.2:1") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := &clock{t: time.Unix(1_000_000, 0)}
			h := build(t, testName(t), &Spec{Average: 1, Burst: 2, SourceCriterion: tt.criterion}, c, nil)
			serve(h, tt.a())
			serve(h, tt.a())
			got := serve(h, tt.b()).Code == 200
			if got != tt.separate {
				t.Fatalf("b admitted after a used its burst: %v, want %v", got, tt.separate)
			}
		})
	}
}

func TestAverageZeroIsNoLimit(t *testing.T) {
	h, err := Factory{}.Build(middleware.BuildContext{}, testName(t), &Spec{Average: 0, Burst: 1}, backend)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if rec := serve(h, request("192.0.2.1:1")); rec.Code != 200 {
			t.Fatalf("request %d: status %d", i+1, rec.Code)
		}
	}
}

// TestExactlyBurstUnderConcurrency sends many requests at once on the real
// clock, at a rate so low that no token refills during the test: exactly
// burst must pass.
func TestExactlyBurstUnderConcurrency(t *testing.T) {
	const burst, total, workers = 10, 200, 16
	h, err := Factory{}.Build(middleware.BuildContext{}, testName(t),
		&Spec{Average: 1, Period: config.Duration(time.Hour), Burst: burst}, backend)
	if err != nil {
		t.Fatal(err)
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	next := make(chan struct{}, total)
	for range total {
		next <- struct{}{}
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				switch serve(h, request("192.0.2.1:1")).Code {
				case 200:
					ok.Add(1)
				case 429:
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != burst || refused.Load() != total-burst {
		t.Fatalf("%d admitted, %d refused; want %d and %d", ok.Load(), refused.Load(), burst, total-burst)
	}
}

func TestBucketsBounded(t *testing.T) {
	t.Run("capacity", func(t *testing.T) {
		b := newBuckets(1, 5, 100)
		now := time.Unix(1_000_000, 0)
		for i := range 10_000 {
			b.get(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now)
		}
		if n := b.len(); n != 100 {
			t.Fatalf("%d buckets, want the cap of 100", n)
		}
		// The most recent sources are the ones kept.
		if _, ok := b.byKey["10.0.39.15"]; !ok {
			t.Fatal("the most recent source was evicted")
		}
		if _, ok := b.byKey["10.0.0.0"]; ok {
			t.Fatal("the oldest source was kept")
		}
	})
	t.Run("idle buckets are dropped", func(t *testing.T) {
		// 1/s burst 5: full again after 6s, kept at least minIdle.
		b := newBuckets(1, 5, 1000)
		if b.idle != minIdle {
			t.Fatalf("idle %v, want %v", b.idle, minIdle)
		}
		now := time.Unix(1_000_000, 0)
		for i := range 10 {
			b.get(fmt.Sprint("old", i), now)
		}
		now = now.Add(minIdle)
		b.get("new", now)
		if n := b.len(); n != 1 {
			t.Fatalf("%d buckets after the others idled for %v, want 1", n, minIdle)
		}
	})
	t.Run("idle is at least a full refill", func(t *testing.T) {
		// 1 per 10s, burst 100: a full refill takes 1010s.
		b := newBuckets(0.1, 100, 10)
		if want := 1010 * time.Second; b.idle != want {
			t.Fatalf("idle %v, want %v", b.idle, want)
		}
		now := time.Unix(1_000_000, 0)
		lim := b.get("a", now)
		lim.AllowN(now, 100)
		b.get("b", now.Add(b.idle-time.Second))
		if n := b.len(); n != 2 {
			t.Fatal("a bucket still refilling was dropped")
		}
	})
	t.Run("a used bucket is not idle", func(t *testing.T) {
		b := newBuckets(1, 1, 1000)
		now := time.Unix(1_000_000, 0)
		b.get("a", now)
		b.get("b", now)
		now = now.Add(minIdle / 2)
		b.get("a", now)
		now = now.Add(minIdle / 2)
		b.get("c", now)
		_, hasA := b.byKey["a"]
		_, hasB := b.byKey["b"]
		if !hasA || hasB {
			t.Fatalf("kept a: %v, kept b: %v; want a kept and b dropped", hasA, hasB)
		}
	})
	t.Run("a huge refill time does not overflow", func(t *testing.T) {
		b := newBuckets(rate.Limit(1e-12), 1<<30, 10)
		if b.idle <= 0 {
			t.Fatalf("idle %v", b.idle)
		}
	})
}

// TestBucketsSurviveRebuild checks the design rule: state that must
// outlive a configuration swap is found again by a handler rebuilt with
// the same name and options.
func TestBucketsSurviveRebuild(t *testing.T) {
	name := testName(t)
	c := &clock{t: time.Unix(1_000_000, 0)}
	old := build(t, name, &Spec{Average: 1, Burst: 2}, c, nil)
	serve(old, request("192.0.2.1:1"))
	serve(old, request("192.0.2.1:1"))

	tests := []struct {
		desc     string
		name     string
		spec     Spec
		wantCode int
	}{
		{desc: "same name and options", name: name, spec: Spec{Average: 1, Burst: 2}, wantCode: 429},
		{desc: "defaults spelled out", name: name, spec: Spec{Average: 1, Burst: 2, Period: config.Duration(time.Second), SourceCriterion: &ipstrategy.SourceCriterion{}}, wantCode: 429},
		{desc: "changed burst", name: name, spec: Spec{Average: 1, Burst: 3}, wantCode: 200},
		{desc: "changed criterion", name: name, spec: Spec{Average: 1, Burst: 2, SourceCriterion: &ipstrategy.SourceCriterion{RequestHost: true}}, wantCode: 200},
		{desc: "another middleware", name: name + "-other", spec: Spec{Average: 1, Burst: 2}, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := build(t, tt.name, &tt.spec, c, nil)
			if rec := serve(h, request("192.0.2.1:1")); rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantCode)
			}
		})
	}
	runtime.KeepAlive(old)
}

func TestDoesNotModifyRequest(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	h := build(t, testName(t), &Spec{Average: 1, SourceCriterion: &ipstrategy.SourceCriterion{IPStrategy: &ipstrategy.Options{Depth: 1}}}, c, nil)
	for range 2 { // one admitted, one refused
		r := request("192.0.2.1:1")
		r.Header.Set("X-Forwarded-For", "203.0.113.1")
		before := r.Header.Clone()
		serve(h, r)
		if len(r.Header) != len(before) || r.Header.Get("X-Forwarded-For") != "203.0.113.1" || r.RemoteAddr != "192.0.2.1:1" {
			t.Fatal("the request was modified")
		}
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "ok", spec: Spec{Average: 100, Period: config.Duration(time.Second), Burst: 50}},
		{desc: "average 0 is no limit", spec: Spec{}},
		{desc: "negative average", spec: Spec{Average: -1}, wantErr: "average: -1"},
		{desc: "negative period", spec: Spec{Average: 1, Period: config.Duration(-time.Second)}, wantErr: "period: -1s"},
		{desc: "negative burst", spec: Spec{Average: 1, Burst: -2}, wantErr: "burst: -2"},
		{desc: "bad criterion", spec: Spec{Average: 1, SourceCriterion: &ipstrategy.SourceCriterion{RequestHost: true, IPStrategy: &ipstrategy.Options{}}}, wantErr: "sourceCriterion: ipStrategy and requestHost are mutually exclusive"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.spec.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := (Factory{}).Build(middleware.BuildContext{}, "x", struct{ middleware.Spec }{}, backend); err == nil {
		t.Fatal("Build accepted foreign options")
	}
	if _, err := (Factory{}).Build(middleware.BuildContext{}, "x", &Spec{Average: -1}, backend); err == nil {
		t.Fatal("Build accepted invalid options")
	}
}

func TestDecodeLabels(t *testing.T) {
	tests := []struct {
		desc    string
		labels  map[string]string
		want    string // fmt of average, period, burst, criterion set
		wantErr string
	}{
		{
			desc:   "Traefik's documented example keeps the default period",
			labels: map[string]string{"http.middlewares.m.ratelimit.average": "100", "http.middlewares.m.ratelimit.burst": "200"},
			want:   "100 1s 200 false",
		},
		{
			desc:   "defaults",
			labels: map[string]string{"http.middlewares.m.rateLimit.average": "5"},
			want:   "5 1s 1 false",
		},
		{
			desc:   "period as a duration",
			labels: map[string]string{"http.middlewares.m.ratelimit.average": "6", "http.middlewares.m.ratelimit.period": "1m"},
			want:   "6 1m0s 1 false",
		},
		{
			desc:   "period in seconds",
			labels: map[string]string{"http.middlewares.m.ratelimit.average": "6", "http.middlewares.m.ratelimit.period": "60"},
			want:   "6 1m0s 1 false",
		},
		{
			desc: "sourceCriterion",
			labels: map[string]string{
				"http.middlewares.m.ratelimit.average":                                "6",
				"http.middlewares.m.ratelimit.sourcecriterion.ipstrategy.excludedips": "10.0.0.0/8",
				"http.middlewares.m.ratelimit.sourcecriterion.ipstrategy.ipv6subnet":  "64",
			},
			want: "6 1s 1 true",
		},
		{
			desc:    "redis is not supported",
			labels:  map[string]string{"http.middlewares.m.ratelimit.average": "6", "http.middlewares.m.ratelimit.redis.endpoints": "127.0.0.1:6379"},
			wantErr: `unknown key "redis"`,
		},
		{
			desc:    "bad period",
			labels:  map[string]string{"http.middlewares.m.ratelimit.average": "6", "http.middlewares.m.ratelimit.period": "soon"},
			wantErr: "period",
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
			s := cfg.HTTP.Middlewares["m"].Spec.(*Spec)
			if got := fmt.Sprint(s.Average, s.Period.D(), s.Burst, s.SourceCriterion != nil); got != tt.want {
				t.Fatalf("decoded %q, want %q", got, tt.want)
			}
		})
	}
}
