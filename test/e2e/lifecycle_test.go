//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// TestLifecycleGracefulShutdown sends SIGTERM while a request is in flight:
// the request completes, /ping answers 503 while berth drains (when
// requestAcceptGraceTimeout keeps the listeners open), and berth exits 0
// within the grace time.
func TestLifecycleGracefulShutdown(t *testing.T) {
	const (
		backendDelay = time.Second
		graceTimeOut = 5 * time.Second
	)
	slow := aSlowBackend(t, "slow", backendDelay)
	dyn := `http:
  routers:
    slow:
      rule: "Host(` + "`slow.test`" + `)"
      service: slow
  services:
` + aService("slow", slow)

	tests := []struct {
		desc        string
		acceptGrace time.Duration
	}{
		{desc: "with requestAcceptGraceTimeout: ping answers 503 while draining", acceptGrace: time.Second},
		{desc: "without requestAcceptGraceTimeout: new connections are refused", acceptGrace: 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			flags := []string{fmt.Sprintf("--entryPoints.web.transport.lifeCycle.graceTimeOut=%s", graceTimeOut)}
			if tc.acceptGrace > 0 {
				flags = append(flags, fmt.Sprintf("--entryPoints.traefik.transport.lifeCycle.requestAcceptGraceTimeout=%s", tc.acceptGrace))
			}
			in := start(t, []string{"web"}, dyn, flags...)

			type result struct {
				status int
				body   string
				err    error
			}
			done := make(chan result, 1)
			reqStart := time.Now()
			go func() {
				req, _ := http.NewRequest("GET", in.url("web", "/inflight"), nil)
				req.Host = "slow.test"
				resp, err := aClient.Do(req)
				if err != nil {
					done <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				done <- result{status: resp.StatusCode, body: string(b), err: err}
			}()
			time.Sleep(200 * time.Millisecond)
			sigAt := time.Now()
			if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}

			pingURL := fmt.Sprintf("http://127.0.0.1:%d/ping", in.ports["traefik"])
			if tc.acceptGrace > 0 {
				// While the listeners still accept, /ping says 503 so that
				// a load balancer in front stops sending traffic.
				saw503 := false
				var last string
				for i := 0; i < 100 && time.Since(sigAt) < tc.acceptGrace-100*time.Millisecond; i++ {
					resp, err := aClient.Get(pingURL)
					if err != nil {
						last = err.Error()
					} else {
						resp.Body.Close()
						last = resp.Status
						if resp.StatusCode == http.StatusServiceUnavailable {
							saw503 = true
							t.Logf("/ping answered 503 %v after SIGTERM", time.Since(sigAt).Round(time.Millisecond))
							break
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
				if !saw503 {
					t.Errorf("/ping never answered 503 while draining; last: %s", last)
				}
			} else {
				// Without an accept grace the listeners close at once.
				var lastErr error
				for i := 0; i < 50; i++ {
					c, err := net.DialTimeout("tcp", in.aAddr("web"), time.Second)
					if err != nil {
						lastErr = err
						break
					}
					c.Close()
					time.Sleep(10 * time.Millisecond)
				}
				if lastErr == nil {
					t.Errorf("web still accepts connections 500ms after SIGTERM")
				} else {
					t.Logf("new connection after SIGTERM refused: %v", lastErr)
				}
			}

			select {
			case r := <-done:
				if r.err != nil || r.status != 200 || r.body != "slow /inflight" {
					t.Errorf("in-flight request: %d %q %v, want 200 %q", r.status, r.body, r.err, "slow /inflight")
				}
				t.Logf("in-flight request finished %v after it started", time.Since(reqStart).Round(time.Millisecond))
			case <-time.After(graceTimeOut + 2*time.Second):
				t.Fatal("in-flight request did not finish")
			}

			select {
			case <-in.exited:
				took := time.Since(sigAt)
				t.Logf("berth exited %v after SIGTERM with code %d", took.Round(time.Millisecond), in.cmd.ProcessState.ExitCode())
				if code := in.cmd.ProcessState.ExitCode(); code != 0 {
					t.Errorf("exit code %d, want 0", code)
				}
				if took > tc.acceptGrace+graceTimeOut {
					t.Errorf("exit took %v, more than accept grace + grace time", took)
				}
			case <-time.After(tc.acceptGrace + graceTimeOut + 2*time.Second):
				t.Fatalf("berth did not exit within the grace time")
			}
		})
	}
}

// TestLifecycleVersion checks `berth version`.
func TestLifecycleVersion(t *testing.T) {
	code, out := aRunBerth(t, "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if !regexp.MustCompile(`^berth \S+\n$`).MatchString(out) {
		t.Errorf("output %q, want %q", out, "berth VERSION\\n")
	}
}

// TestLifecycleHealthcheck runs `berth healthcheck` with the flags of a
// running instance (exit 0), while it drains (exit 1) and when nothing
// runs (exit 1).
func TestLifecycleHealthcheck(t *testing.T) {
	in := start(t, []string{"web"}, "http: {}\n", "--entryPoints.traefik.transport.lifeCycle.requestAcceptGraceTimeout=2s")
	args := append([]string{"healthcheck"}, in.cmd.Args[1:]...)

	code, out := aRunBerth(t, args...)
	if code != 0 {
		t.Errorf("healthcheck against a running berth: exit %d, want 0: %s", code, out)
	}

	// While draining /ping answers 503 and the health check fails.
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	aWaitStatus(t, fmt.Sprintf("http://127.0.0.1:%d/ping", in.ports["traefik"]), "", 503, time.Second)
	code, out = aRunBerth(t, args...)
	if code != 1 {
		t.Errorf("healthcheck against a draining berth: exit %d, want 1: %s", code, out)
	}

	select {
	case <-in.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("berth did not exit")
	}
	code, out = aRunBerth(t, args...)
	if code != 1 {
		t.Errorf("healthcheck with nothing running: exit %d, want 1: %s", code, out)
	}
	t.Logf("healthcheck with nothing running: %s", out)
}
