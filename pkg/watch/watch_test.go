package watch

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/provider"
)

// fakeProviderForTest is a provider driven by the test: it forwards what the
// test puts on snaps, returns the error the test puts on fail, and panics
// with the value put on panics.
type fakeProviderForTest struct {
	name   string
	snaps  chan config.Snapshot
	fail   chan error
	panics chan any
	runs   atomic.Int32
}

func newFakeProviderForTest(name string) *fakeProviderForTest {
	return &fakeProviderForTest{
		name:   name,
		snaps:  make(chan config.Snapshot),
		fail:   make(chan error),
		panics: make(chan any),
	}
}

func (f *fakeProviderForTest) Name() string { return f.name }

func (f *fakeProviderForTest) Run(ctx context.Context, out chan<- config.Snapshot) error {
	f.runs.Add(1)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-f.fail:
			return err
		case v := <-f.panics:
			panic(v)
		case s := <-f.snaps:
			select {
			case out <- s:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// send hands the provider a snapshot, failing the test if the provider
// does not take it within 2 s.
func (f *fakeProviderForTest) send(t *testing.T, s config.Snapshot) {
	t.Helper()
	select {
	case f.snaps <- s:
	case <-time.After(2 * time.Second):
		t.Fatalf("provider %s did not take the snapshot", f.name)
	}
}

// routers builds a snapshot with routers to service "svc".
func routers(provider string, rules map[string]string) config.Snapshot {
	rs := map[string]*config.Router{}
	for name, rule := range rules {
		rs[name] = &config.Router{Rule: rule, Service: "svc", Source: provider + ".yml:1:1"}
	}
	return config.Snapshot{Provider: provider, Config: &config.Dynamic{HTTP: &config.HTTP{Routers: rs}}}
}

// recorderForTest is an apply function that records deliveries.
type recorderForTest struct {
	ch    chan Merged
	delay func(Merged) time.Duration // how long apply takes
}

func newRecorderForTest() *recorderForTest { return &recorderForTest{ch: make(chan Merged, 100)} }

func (r *recorderForTest) apply(m Merged) {
	if r.delay != nil {
		time.Sleep(r.delay(m))
	}
	r.ch <- m
}

func (r *recorderForTest) next(t *testing.T) Merged {
	t.Helper()
	select {
	case m := <-r.ch:
		return m
	case <-time.After(2 * time.Second):
		t.Fatal("no delivery within 2s")
	}
	return Merged{}
}

func (r *recorderForTest) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-r.ch:
		t.Fatalf("unexpected delivery %d: routers %v", m.Generation, routerNames(m))
	case <-time.After(d):
	}
}

func routerNames(m Merged) []string {
	var out []string
	if m.Config != nil && m.Config.HTTP != nil {
		for n := range m.Config.HTTP.Routers {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// testWatcher returns a watcher with short delays, and starts it.
func startWatcher(t *testing.T, apply func(Merged), providers ...provider.Provider) *Watcher {
	t.Helper()
	w := New(zaptest.NewLogger(t), 20*time.Millisecond)
	w.firstWait = 200 * time.Millisecond
	w.minBackoff = 10 * time.Millisecond
	w.maxBackoff = 40 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, providers, apply) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return w
}

func TestQualifiedNames(t *testing.T) {
	file := newFakeProviderForTest("file")
	docker := newFakeProviderForTest("docker")
	rec := newRecorderForTest()
	startWatcher(t, rec.apply, file, docker)

	file.send(t, routers("file", map[string]string{"web": "Host(`f`)", "own@file": "Host(`o`)", "theirs@docker": "Host(`x`)"}))
	docker.send(t, routers("docker", map[string]string{"web": "Host(`d`)", "api": "Host(`a`)"}))

	m := rec.next(t)
	if want := []string{"api@docker", "own@file", "web@docker", "web@file"}; !slices.Equal(routerNames(m), want) {
		t.Errorf("routers = %v, want %v", routerNames(m), want)
	}
	if m.Generation != 1 {
		t.Errorf("generation = %d, want 1", m.Generation)
	}
	if want := []string{"docker", "file"}; !slices.Equal(m.Providers, want) {
		t.Errorf("providers = %v, want %v", m.Providers, want)
	}
	if r := m.Config.HTTP.Routers["web@file"]; r.Service != "svc" || r.Rule != "Host(`f`)" {
		t.Errorf("web@file = %+v, want its own rule and the reference left as written", r)
	}
	if len(m.Issues) != 1 || m.Issues[0].Object != "theirs@docker" || m.Issues[0].Provider != "file" || !m.Issues[0].Fatal {
		t.Errorf("issues = %+v, want one about theirs@docker from file", m.Issues)
	}
}

func TestIssuesQualified(t *testing.T) {
	file := newFakeProviderForTest("file")
	rec := newRecorderForTest()
	startWatcher(t, rec.apply, file)

	file.send(t, config.Snapshot{Provider: "file", Issues: []config.Issue{
		{Kind: "router", Object: "web", Msg: "bad rule"},
		{Kind: "middleware", Object: "m@file", Msg: "already qualified"},
		{Kind: "tls", Object: "modern", Msg: "bad option"},
		{Kind: "file", Source: "a.yml", Msg: "syntax error"},
		{Kind: "tlsStore", Object: "default", Msg: "store"},
	}})
	m := rec.next(t)
	var got []string
	for _, is := range m.Issues {
		if is.Provider != "file" {
			t.Errorf("issue %+v: provider not filled in", is)
		}
		got = append(got, is.Object)
	}
	if want := []string{"web@file", "m@file", "modern@file", "", "default"}; !slices.Equal(got, want) {
		t.Errorf("issue objects = %q, want %q", got, want)
	}
}

func TestDedupe(t *testing.T) {
	file := newFakeProviderForTest("file")
	rec := newRecorderForTest()
	startWatcher(t, rec.apply, file)

	snap := routers("file", map[string]string{"web": "Host(`a`)"})
	file.send(t, snap)
	rec.next(t)
	// Equal content in new values: no delivery.
	file.send(t, routers("file", map[string]string{"web": "Host(`a`)"}))
	file.send(t, snap)
	rec.quiet(t, 150*time.Millisecond)

	// A change that is reverted within the debounce delivers nothing
	// either, since the merged result is what was delivered last.
	file.send(t, routers("file", map[string]string{"web": "Host(`b`)"}))
	file.send(t, snap)
	rec.quiet(t, 150*time.Millisecond)

	// A real change does.
	file.send(t, routers("file", map[string]string{"web": "Host(`c`)"}))
	if m := rec.next(t); m.Generation != 2 || m.Config.HTTP.Routers["web@file"].Rule != "Host(`c`)" {
		t.Errorf("delivery %d rule %q, want generation 2 with Host(`c`)", m.Generation, m.Config.HTTP.Routers["web@file"].Rule)
	}

	// Only the source moved (a line added above): delivered, so that the
	// API points at the right line.
	moved := routers("file", map[string]string{"web": "Host(`c`)"})
	moved.Config.HTTP.Routers["web"].Source = "file.yml:2:1"
	file.send(t, moved)
	if m := rec.next(t); m.Config.HTTP.Routers["web@file"].Source != "file.yml:2:1" {
		t.Errorf("source = %q, want the new one", m.Config.HTTP.Routers["web@file"].Source)
	}
}

func TestLatestWinsUnderSlowApply(t *testing.T) {
	file := newFakeProviderForTest("file")
	rec := newRecorderForTest()
	rec.delay = func(m Merged) time.Duration {
		if m.Generation == 1 {
			return 300 * time.Millisecond
		}
		return 0
	}
	startWatcher(t, rec.apply, file)

	file.send(t, routers("file", map[string]string{"web": "Host(`v0`)"}))
	// While the first apply sleeps, ten versions arrive.
	time.Sleep(50 * time.Millisecond)
	for i := 1; i <= 10; i++ {
		file.send(t, routers("file", map[string]string{"web": "Host(`v" + string(rune('0'+i%10)) + "`)", "n": strings.Repeat("x", i)}))
	}
	if m := rec.next(t); m.Generation != 1 {
		t.Fatalf("first delivery generation %d", m.Generation)
	}
	m := rec.next(t)
	if m.Generation != 2 || m.Config.HTTP.Routers["n@file"].Rule != strings.Repeat("x", 10) {
		t.Errorf("second delivery: generation %d, n = %q; want generation 2 with the 10th version",
			m.Generation, m.Config.HTTP.Routers["n@file"].Rule)
	}
	rec.quiet(t, 150*time.Millisecond)
}

func TestDebounceCoalesces(t *testing.T) {
	file := newFakeProviderForTest("file")
	rec := newRecorderForTest()
	startWatcher(t, rec.apply, file)
	file.send(t, routers("file", nil))
	rec.next(t)

	for i := 1; i <= 5; i++ {
		file.send(t, routers("file", map[string]string{"n": strings.Repeat("x", i)}))
	}
	m := rec.next(t)
	// Under a loaded machine a send may land after the debounce; the last
	// delivery must still be the last version.
	for m.Config.HTTP.Routers["n@file"] == nil || m.Config.HTTP.Routers["n@file"].Rule != "xxxxx" {
		m = rec.next(t)
	}
	t.Logf("5 rapid changes → %d deliveries", m.Generation-1)
	if m.Generation > 3 {
		t.Errorf("5 rapid changes gave %d deliveries, want them coalesced", m.Generation-1)
	}
}

func TestProviderRestart(t *testing.T) {
	tests := []struct {
		desc   string
		break_ func(f *fakeProviderForTest)
	}{
		{desc: "error", break_: func(f *fakeProviderForTest) { f.fail <- errors.New("connection lost") }},
		{desc: "nil before shutdown", break_: func(f *fakeProviderForTest) { f.fail <- nil }},
		{desc: "panic", break_: func(f *fakeProviderForTest) { f.panics <- "boom" }},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			file := newFakeProviderForTest("file")
			docker := newFakeProviderForTest("docker")
			rec := newRecorderForTest()
			startWatcher(t, rec.apply, file, docker)
			file.send(t, routers("file", map[string]string{"f": "Host(`f`)"}))
			docker.send(t, routers("docker", map[string]string{"d": "Host(`d`)"}))
			rec.next(t)

			test.break_(docker)
			// Meanwhile its last snapshot stays in the merge.
			file.send(t, routers("file", map[string]string{"f": "Host(`f2`)"}))
			if m := rec.next(t); !slices.Equal(routerNames(m), []string{"d@docker", "f@file"}) {
				t.Errorf("routers while docker is down = %v", routerNames(m))
			}

			// Restarted, it sends again.
			docker.send(t, routers("docker", map[string]string{"d2": "Host(`d`)"}))
			if m := rec.next(t); !slices.Equal(routerNames(m), []string{"d2@docker", "f@file"}) {
				t.Errorf("routers after the restart = %v", routerNames(m))
			}
			if n := docker.runs.Load(); n != 2 {
				t.Errorf("docker ran %d times, want 2", n)
			}
		})
	}
}

func TestFirstDelivery(t *testing.T) {
	t.Run("waits for every provider", func(t *testing.T) {
		file := newFakeProviderForTest("file")
		docker := newFakeProviderForTest("docker")
		rec := newRecorderForTest()
		startWatcher(t, rec.apply, file, docker)
		file.send(t, routers("file", map[string]string{"f": "Host(`f`)"}))
		time.Sleep(50 * time.Millisecond)
		docker.send(t, routers("docker", map[string]string{"d": "Host(`d`)"}))
		m := rec.next(t)
		if !slices.Equal(routerNames(m), []string{"d@docker", "f@file"}) {
			t.Errorf("first delivery routers = %v, want both providers'", routerNames(m))
		}
	})
	t.Run("does not wait for a slow provider", func(t *testing.T) {
		file := newFakeProviderForTest("file")
		slow := newFakeProviderForTest("docker")
		rec := newRecorderForTest()
		startWatcher(t, rec.apply, file, slow) // firstWait is 200ms
		begin := time.Now()
		file.send(t, routers("file", map[string]string{"f": "Host(`f`)"}))
		m := rec.next(t)
		if d := time.Since(begin); d < 150*time.Millisecond {
			t.Errorf("first delivery after %v, want it to wait for the slow provider a while", d)
		}
		if !slices.Equal(m.Providers, []string{"file"}) || !slices.Equal(routerNames(m), []string{"f@file"}) {
			t.Errorf("first delivery providers %v routers %v", m.Providers, routerNames(m))
		}
		slow.send(t, routers("docker", map[string]string{"d": "Host(`d`)"}))
		if m := rec.next(t); m.Generation != 2 || !slices.Equal(m.Providers, []string{"docker", "file"}) {
			t.Errorf("update generation %d providers %v", m.Generation, m.Providers)
		}
	})
	t.Run("no providers", func(t *testing.T) {
		rec := newRecorderForTest()
		startWatcher(t, rec.apply)
		if m := rec.next(t); m.Generation != 1 || m.Config == nil {
			t.Errorf("delivery %+v, want an empty configuration", m)
		}
	})
}

func TestDuplicateProviderNames(t *testing.T) {
	w := New(zaptest.NewLogger(t), 0)
	err := w.Run(context.Background(), []provider.Provider{newFakeProviderForTest("file"), newFakeProviderForTest("file")}, func(Merged) {})
	if err == nil || !strings.Contains(err.Error(), `"file"`) {
		t.Fatalf("Run = %v, want an error naming the duplicate", err)
	}
}

// TestApplyNotConcurrent checks that apply never runs twice at once while
// providers send as fast as they can.
func TestApplyNotConcurrent(t *testing.T) {
	file := newFakeProviderForTest("file")
	docker := newFakeProviderForTest("docker")
	var (
		running atomic.Int32
		last    atomic.Uint64
		mu      sync.Mutex
		final   Merged
	)
	apply := func(m Merged) {
		if running.Add(1) != 1 {
			t.Error("apply called concurrently")
		}
		if m.Generation <= last.Load() {
			t.Errorf("generation %d after %d", m.Generation, last.Load())
		}
		last.Store(m.Generation)
		time.Sleep(time.Millisecond)
		mu.Lock()
		final = m
		mu.Unlock()
		running.Add(-1)
	}
	startWatcher(t, apply, file, docker)
	var wg sync.WaitGroup
	for _, p := range []*fakeProviderForTest{file, docker} {
		wg.Go(func() {
			for i := 0; i <= 100; i++ {
				p.send(t, routers(p.name, map[string]string{"n": strings.Repeat("x", i)}))
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		done := final.Config != nil && len(final.Config.HTTP.Routers) == 2 &&
			final.Config.HTTP.Routers["n@file"].Rule == strings.Repeat("x", 100) &&
			final.Config.HTTP.Routers["n@docker"].Rule == strings.Repeat("x", 100)
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the last versions were not delivered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("202 snapshots → %d deliveries", last.Load())
}

// TestReceivedTime: a delivery says when its oldest change arrived, so
// route convergence can be measured from there rather than from apply.
func TestReceivedTime(t *testing.T) {
	file := newFakeProviderForTest("file")
	rec := newRecorderForTest()
	startWatcher(t, rec.apply, file)
	before := time.Now()
	file.send(t, routers("file", map[string]string{"web": "Host(`a`)"}))
	m := rec.next(t)
	after := time.Now()
	if m.Received.Before(before) || m.Received.After(after) {
		t.Fatalf("Received = %v, want between %v and %v", m.Received, before, after)
	}
	time.Sleep(20 * time.Millisecond)
	before = time.Now()
	file.send(t, routers("file", map[string]string{"web": "Host(`b`)"}))
	m = rec.next(t)
	if m.Received.Before(before) {
		t.Fatalf("second delivery Received = %v, before its change at %v", m.Received, before)
	}
}
