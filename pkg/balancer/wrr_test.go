package balancer

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// servers makes servers named a, b, c, ... with the given weights.
func servers(weights ...int) []*Server {
	out := make([]*Server, len(weights))
	for i, w := range weights {
		out[i] = &Server{URL: string(rune('a' + i)), Weight: w}
	}
	return out
}

// sequence picks n times and returns the chosen URLs.
func sequence(t testing.TB, p Picker, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		res, err := p.Pick(nil)
		if err != nil {
			t.Fatalf("pick %d: %v", i, err)
		}
		out[i] = res.Server.URL
	}
	return out
}

func count(seq []string) map[string]int {
	m := map[string]int{}
	for _, s := range seq {
		m[s]++
	}
	return m
}

// builds returns both WRR implementations for the same servers: the
// precomputed cycle and the mutex fallback (forced with a zero limit).
func builds(t *testing.T, srv []*Server) map[string]Picker {
	t.Helper()
	out := map[string]Picker{}
	for name, limit := range map[string]int{"precomputed": maxCycle, "fallback": 0} {
		p, err := newWRR(srv, NewState(), limit)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = p
	}
	return out
}

func TestWRRShares(t *testing.T) {
	tests := []struct {
		desc    string
		weights []int
		// cycle is the expected count per server over one cycle.
		cycle map[string]int
	}{
		{desc: "equal weights", weights: []int{1, 1, 1}, cycle: map[string]int{"a": 1, "b": 1, "c": 1}},
		{desc: "nginx example", weights: []int{5, 1, 1}, cycle: map[string]int{"a": 5, "b": 1, "c": 1}},
		{desc: "three to two", weights: []int{3, 2}, cycle: map[string]int{"a": 3, "b": 2}},
		{desc: "zero weight excluded", weights: []int{0, 1}, cycle: map[string]int{"b": 1}},
		{desc: "single server", weights: []int{7}, cycle: map[string]int{"a": 1}},
		{desc: "weights reduced by their GCD", weights: []int{20, 10, 10}, cycle: map[string]int{"a": 2, "b": 1, "c": 1}},
	}
	for _, tt := range tests {
		for impl, p := range builds(t, servers(tt.weights...)) {
			t.Run(tt.desc+"/"+impl, func(t *testing.T) {
				length := 0
				for _, n := range tt.cycle {
					length += n
				}
				// Exact shares over every one of several cycles.
				for c := range 3 {
					got := count(sequence(t, p, length))
					if fmt.Sprint(got) != fmt.Sprint(tt.cycle) {
						t.Fatalf("cycle %d: got %v, want %v", c, got, tt.cycle)
					}
				}
				// Within 1 % of the weight share over 10,000 picks.
				const n = 10000
				got := count(sequence(t, p, n))
				for url, share := range tt.cycle {
					want := float64(n) * float64(share) / float64(length)
					if math.Abs(float64(got[url])-want) > 0.01*want {
						t.Errorf("%s: %d picks, want %.0f ± 1 %%", url, got[url], want)
					}
				}
				if len(got) != len(tt.cycle) {
					t.Errorf("picked %v, want only %v", got, tt.cycle)
				}
			})
		}
	}
}

func TestWRRSmoothness(t *testing.T) {
	tests := []struct {
		desc    string
		weights []int
		want    string
	}{
		{desc: "nginx example", weights: []int{5, 1, 1}, want: "a a b a c a a"},
		{desc: "three to two", weights: []int{3, 2}, want: "a b a b a"},
		{desc: "equal weights rotate", weights: []int{1, 1, 1}, want: "a b c"},
		{desc: "zero weight never picked", weights: []int{0, 2, 1}, want: "b c b"},
	}
	for _, tt := range tests {
		for impl, p := range builds(t, servers(tt.weights...)) {
			t.Run(tt.desc+"/"+impl, func(t *testing.T) {
				n := len(strings.Fields(tt.want))
				// Two cycles: the second must repeat the first.
				want := tt.want + " " + tt.want
				if got := strings.Join(sequence(t, p, 2*n), " "); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			})
		}
	}
}

func TestWRRNoServer(t *testing.T) {
	tests := []struct {
		desc    string
		weights []int
	}{
		{desc: "no servers", weights: nil},
		{desc: "all weights zero", weights: []int{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			b, ok := Lookup("wrr")
			if !ok {
				t.Fatal("wrr is not registered")
			}
			p, err := b.Build(servers(tt.weights...), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Pick(nil); !errors.Is(err, ErrNoServer) {
				t.Errorf("got %v, want ErrNoServer", err)
			}
		})
	}
}

func TestWRRBuildErrors(t *testing.T) {
	tests := []struct {
		desc    string
		servers []*Server
		want    string
	}{
		{desc: "negative weight", servers: servers(1, -1), want: `server "b": weight -1 is negative`},
		{desc: "weight too large", servers: servers(MaxWeight + 1), want: `server "a": weight 16777217 is above the maximum of 16777216`},
		{desc: "nil server", servers: []*Server{nil}, want: "server 0 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := buildWRR(tt.servers, Options{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestWRRLargeWeightsFallBack(t *testing.T) {
	p, err := buildWRR(servers(4000, 97), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*smoothWRR); !ok {
		t.Fatalf("weight sum 4097 built %T, want the *smoothWRR fallback", p)
	}
	got := count(sequence(t, p, 4097))
	if got["a"] != 4000 || got["b"] != 97 {
		t.Errorf("one cycle: %v, want a:4000 b:97", got)
	}
	p, err = buildWRR(servers(4000, 96), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*wrr); !ok {
		t.Errorf("weight sum 4096 built %T, want the precomputed *wrr", p)
	}
}

func TestWRRConcurrentPicks(t *testing.T) {
	tests := []struct {
		desc    string
		weights []int
	}{
		{desc: "nginx example", weights: []int{5, 1, 1}},
		{desc: "three to two", weights: []int{3, 2}},
	}
	for _, tt := range tests {
		for impl, p := range builds(t, servers(tt.weights...)) {
			t.Run(tt.desc+"/"+impl, func(t *testing.T) {
				length := 0
				for _, w := range tt.weights {
					length += w
				}
				const goroutines, cyclesEach = 32, 100
				var mu sync.Mutex
				total := map[string]int{}
				var wg sync.WaitGroup
				for range goroutines {
					wg.Go(func() {
						got := count(sequence(t, p, cyclesEach*length))
						mu.Lock()
						defer mu.Unlock()
						for k, v := range got {
							total[k] += v
						}
					})
				}
				wg.Wait()
				for i, w := range tt.weights {
					url := string(rune('a' + i))
					if want := goroutines * cyclesEach * w; total[url] != want {
						t.Errorf("%s: %d picks, want exactly %d", url, total[url], want)
					}
				}
			})
		}
	}
}

func TestWRRStateSurvivesRebuild(t *testing.T) {
	for _, limit := range []int{maxCycle, 0} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			st := NewState()
			p1, err := newWRR(servers(5, 1, 1), st, limit)
			if err != nil {
				t.Fatal(err)
			}
			first := strings.Join(sequence(t, p1, 3), " ")
			// A reload rebuilds the picker from equal servers.
			p2, err := newWRR(servers(5, 1, 1), st, limit)
			if err != nil {
				t.Fatal(err)
			}
			rest := strings.Join(sequence(t, p2, 4), " ")
			if got, want := first+" "+rest, "a a b a c a a"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			// Without the State, the rotation starts over.
			p3, err := newWRR(servers(5, 1, 1), NewState(), limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(sequence(t, p3, 3), " "); got != "a a b" {
				t.Errorf("fresh state: got %q, want %q", got, "a a b")
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	tests := []struct {
		desc string
		name string
		ok   bool
	}{
		{desc: "wrr", name: "wrr", ok: true},
		{desc: "case-insensitive", name: "WRR", ok: true},
		{desc: "empty is the default", name: "", ok: true},
		{desc: "unknown", name: "nosuch", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if _, ok := Lookup(tt.name); ok != tt.ok {
				t.Errorf("Lookup(%q) ok = %v, want %v", tt.name, ok, tt.ok)
			}
		})
	}
	if got := fmt.Sprint(Strategies()); !strings.Contains(got, "wrr") {
		t.Errorf("Strategies() = %s, want wrr in it", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("a duplicate Register did not panic")
		}
	}()
	Register("WRR", BuilderFunc(buildWRR))
}

func BenchmarkPick(b *testing.B) {
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	cases := []struct {
		desc    string
		weights []int
		limit   int
	}{
		{desc: "precomputed 3 servers", weights: []int{5, 1, 1}, limit: maxCycle},
		{desc: "precomputed 1 server", weights: []int{1}, limit: maxCycle},
		{desc: "fallback 3 servers", weights: []int{5, 1, 1}, limit: 0},
	}
	for _, c := range cases {
		p, err := newWRR(servers(c.weights...), NewState(), c.limit)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.desc, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Pick(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.desc+" parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := p.Pick(r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
