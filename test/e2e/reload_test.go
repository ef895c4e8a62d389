//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reloadLimit is how soon a file change must be visible.
const reloadLimit = 2 * time.Second

// TestReloadRouteChanges adds, changes and removes a route by editing the
// file and measures how soon each change is served.
func TestReloadRouteChanges(t *testing.T) {
	a, b, c := backend(t, "a"), backend(t, "b"), backend(t, "c")
	services := "  services:\n" + aService("svc-a", a) + aService("svc-b", b) + aService("svc-c", c)
	base := `http:
  routers:
    one:
      rule: "Host(` + "`one.test`" + `)"
      service: svc-a
`
	withTwo := func(svc string) string {
		return base + `    two:
      rule: "Host(` + "`two.test`" + `)"
      service: ` + svc + "\n" + services
	}
	in := start(t, []string{"web"}, base+services)
	if st, body := get(t, in.url("web", "/"), "one.test"); st != 200 || body != "a /" {
		t.Fatalf("initial: %d %q", st, body)
	}
	if st, _ := get(t, in.url("web", "/"), "two.test"); st != 404 {
		t.Fatalf("two.test before it exists: %d, want 404", st)
	}

	steps := []struct {
		desc       string
		content    string
		wantStatus int
		wantBody   string
	}{
		{desc: "route added", content: withTwo("svc-b"), wantStatus: 200, wantBody: "b /"},
		{desc: "route changed to another backend", content: withTwo("svc-c"), wantStatus: 200, wantBody: "c /"},
		{desc: "route removed", content: base + services, wantStatus: 404, wantBody: "404 page not found\n"},
	}
	for _, st := range steps {
		t.Run(st.desc, func(t *testing.T) {
			in.writeDynamic(st.content)
			t0 := time.Now()
			var last string
			for {
				r, err := aClient.Do(aNewReq(t, in.url("web", "/"), "two.test"))
				if err == nil {
					body, _ := io.ReadAll(r.Body)
					r.Body.Close()
					last = fmt.Sprintf("%d %q", r.StatusCode, body)
					if r.StatusCode == st.wantStatus && string(body) == st.wantBody {
						break
					}
				} else {
					last = err.Error()
				}
				if time.Since(t0) > reloadLimit {
					t.Fatalf("not visible after %v; last answer %s", reloadLimit, last)
				}
				time.Sleep(2 * time.Millisecond)
			}
			t.Logf("%s: visible after %v", st.desc, time.Since(t0).Round(time.Millisecond))
			// The unrelated route is untouched.
			if s, body := get(t, in.url("web", "/"), "one.test"); s != 200 || body != "a /" {
				t.Errorf("one.test after %s: %d %q", st.desc, s, body)
			}
		})
	}
}

// TestReloadBrokenRouter adds a router with a bad rule next to a good one:
// the good one is served and the log names the file and line of the bad one.
func TestReloadBrokenRouter(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	services := "  services:\n" + aService("svc-a", a) + aService("svc-b", b)
	good := `http:
  routers:
    good:
      rule: "Host(` + "`good.test`" + `)"
      service: svc-a
`
	in := start(t, []string{"web"}, good+services)
	broken := good + `    newgood:
      rule: "Host(` + "`new.test`" + `)"
      service: svc-b
    broken:
      rule: "Host(` + "`bad.test`" + `"
      service: svc-b
` + services
	// The lines of the broken router's key and of its rule, 1-based.
	routerLine, ruleLine := 0, 0
	for i, l := range strings.Split(broken, "\n") {
		switch {
		case strings.TrimSpace(l) == "broken:":
			routerLine = i + 1
		case strings.Contains(l, "bad.test"):
			ruleLine = i + 1
		}
	}
	in.writeDynamic(broken)
	// The new good router next to the broken one is applied ...
	took := aWaitBody(t, in.url("web", "/"), "new.test", "b /", reloadLimit)
	t.Logf("good router next to a broken one visible after %v", took)
	// ... the old one still works, and the broken one is not routed.
	if st, body := get(t, in.url("web", "/"), "good.test"); st != 200 || body != "a /" {
		t.Errorf("good.test: %d %q", st, body)
	}
	if st, _ := get(t, in.url("web", "/"), "bad.test"); st != 404 {
		t.Errorf("bad.test: %d, want 404", st)
	}
	// berth names the router's definition (README's example points at the
	// rule key itself; either line names the problem).
	file := filepath.Base(in.dynPath)
	wants := []string{fmt.Sprintf("%s:%d:", file, ruleLine), fmt.Sprintf("%s:%d:", file, routerLine)}
	eventually(t, reloadLimit, func() string {
		for _, l := range strings.Split(in.Log(), "\n") {
			for _, want := range wants {
				if strings.Contains(l, want) && strings.Contains(l, `broken@file`) && strings.Contains(l, "bad.test") {
					t.Logf("log line: %s", l)
					return ""
				}
			}
		}
		return fmt.Sprintf("no log line names %q or %q and router broken@file", wants[0], wants[1])
	})
}

// TestReloadSyntaxErrorKeepsLastGood writes a file that does not parse:
// the last good configuration keeps serving, and the next good file is
// applied.
func TestReloadSyntaxErrorKeepsLastGood(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	cfg := func(svc string) string {
		return `http:
  routers:
    main:
      rule: "Host(` + "`main.test`" + `)"
      service: ` + svc + `
  services:
` + aService("svc-a", a) + aService("svc-b", b)
	}
	in := start(t, []string{"web"}, cfg("svc-a"))
	aWaitBody(t, in.url("web", "/"), "main.test", "a /", reloadLimit)

	tests := []struct{ desc, content string }{
		{desc: "file truncated inside a quoted string", content: cfg("svc-b")[:strings.Index(cfg("svc-b"), "main.test")+4]},
		{desc: "unclosed flow sequence", content: "http:\n  routers: [\n    main:\n"},
		{desc: "tab indentation", content: "http:\n\trouters:\n\t\tmain: {}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			logBefore := len(in.Log())
			in.writeDynamic(tc.content)
			// berth notices the broken file (and logs it) ...
			eventually(t, reloadLimit, func() string {
				if l := in.Log()[logBefore:]; !strings.Contains(l, filepath.Base(in.dynPath)) {
					return "no log line about the broken file yet"
				}
				return ""
			})
			// ... and keeps serving the last good configuration.
			time.Sleep(200 * time.Millisecond)
			for i := 0; i < 20; i++ {
				if st, body := get(t, in.url("web", "/"), "main.test"); st != 200 || body != "a /" {
					t.Fatalf("request %d after a broken write: %d %q, want the last good configuration (a)", i, st, body)
				}
			}
			if st, _ := get(t, fmt.Sprintf("http://127.0.0.1:%d/ping", in.ports["traefik"]), ""); st != 200 {
				t.Errorf("/ping: %d", st)
			}
		})
	}
	// A good file is applied again.
	in.writeDynamic(cfg("svc-b"))
	took := aWaitBody(t, in.url("web", "/"), "main.test", "b /", reloadLimit)
	t.Logf("recovered after a good write in %v", took)
}

// TestReloadZeroFailuresUnderLoad rewrites the file 200 times while 8
// clients send requests continuously: not one request may fail.
func TestReloadZeroFailuresUnderLoad(t *testing.T) {
	const (
		changes = 200
		workers = 8
		maxPerW = 200000 // a bound on the load loop besides time
		maxTime = 60 * time.Second
		// Writes are 10-20 ms apart with jitter: a fixed period would
		// alias with the file provider's 60 ms maximum debounce (every
		// read would then see a write of the same parity, i.e. the same
		// backend) and the test would not exercise the switch.
		minWait = 10 * time.Millisecond
	)
	a, b, x := backend(t, "a"), backend(t, "b"), backend(t, "x")
	cfg := func(i int) string {
		svc := "svc-a"
		extra := ""
		if i%2 == 1 {
			svc = "svc-b"
			extra = fmt.Sprintf(`    extra-%d:
      rule: "Host(`+"`extra%d.test`"+`)"
      service: svc-x
`, i, i)
		}
		return `http:
  routers:
    main:
      rule: "Host(` + "`main.test`" + `) && PathPrefix(` + "`/`" + `)"
      service: ` + svc + `
` + extra + `  services:
` + aService("svc-a", a) + aService("svc-b", b) + aService("svc-x", x)
	}
	in := start(t, []string{"web"}, cfg(0))
	aWaitBody(t, in.url("web", "/"), "main.test", "a /", reloadLimit)

	var (
		stop     atomic.Bool
		total    atomic.Int64
		failures atomic.Int64
		seenA    atomic.Int64
		seenB    atomic.Int64
		errMu    sync.Mutex
		errs     []string
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(maxTime)
	fail := func(s string) {
		failures.Add(1)
		errMu.Lock()
		if len(errs) < 20 {
			errs = append(errs, s)
		}
		errMu.Unlock()
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// Half the workers reuse connections, half open a new one
			// for every request.
			tr := &http.Transport{DisableKeepAlives: w%2 == 1, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for i := 0; i < maxPerW && !stop.Load() && time.Now().Before(deadline); i++ {
				req, _ := http.NewRequest("GET", in.url("web", fmt.Sprintf("/w%d/%d", w, i)), nil)
				req.Host = "main.test"
				resp, err := c.Do(req)
				total.Add(1)
				if err != nil {
					fail(fmt.Sprintf("worker %d request %d: %v", w, i, err))
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					fail(fmt.Sprintf("worker %d request %d: reading body: %v", w, i, err))
				case resp.StatusCode != 200:
					fail(fmt.Sprintf("worker %d request %d: %d %q", w, i, resp.StatusCode, body))
				case strings.HasPrefix(string(body), "a /"):
					seenA.Add(1)
				case strings.HasPrefix(string(body), "b /"):
					seenB.Add(1)
				default:
					fail(fmt.Sprintf("worker %d request %d: unexpected body %q", w, i, body))
				}
			}
		}(w)
	}

	appliedBefore := strings.Count(in.Log(), "configuration applied")
	t0 := time.Now()
	written := 0
	for i := 1; i <= changes && time.Now().Before(deadline); i++ {
		in.writeDynamic(cfg(i))
		written++
		time.Sleep(minWait + rand.N(10*time.Millisecond))
	}
	// The last configuration (200: svc-a, no extra router) must be served.
	aWaitBody(t, in.url("web", "/"), "main.test", "a /", reloadLimit)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(t0)
	applied := strings.Count(in.Log(), "configuration applied") - appliedBefore

	t.Logf("%d file changes in %v (%d configurations applied); %d requests (%d to a, %d to b), %d failures",
		written, elapsed.Round(time.Millisecond), applied, total.Load(), seenA.Load(), seenB.Load(), failures.Load())
	if written != changes {
		t.Errorf("only %d of %d changes written within %v", written, changes, maxTime)
	}
	if failures.Load() != 0 {
		t.Errorf("%d failed requests during reloads; first ones:\n%s", failures.Load(), strings.Join(errs, "\n"))
	}
	if seenA.Load() == 0 || seenB.Load() == 0 {
		t.Errorf("the alternation was not observed: a=%d b=%d", seenA.Load(), seenB.Load())
	}
	if total.Load() < 1000 {
		t.Errorf("only %d requests were sent; the load loop did not run", total.Load())
	}
	// The extra routers come and go with the file: extra199 was removed by
	// the last write.
	if st, _ := get(t, in.url("web", "/"), "extra199.test"); st != 404 {
		t.Errorf("extra199.test after the last write: %d, want 404", st)
	}
}
