//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthproxy/berth/test/testutil"
)

// aSeen is what a recording backend saw of one request.
type aSeen struct {
	Method     string
	Path       string
	Host       string
	Header     http.Header
	Body       string
	BodyErr    error
	RemoteAddr string
}

// aRecorder is a backend that counts and records the requests it receives.
// Only requests whose body was read completely are counted in complete.
type aRecorder struct {
	URL      string
	name     string
	mu       sync.Mutex
	reqs     []aSeen
	started  atomic.Int64 // handler entered (headers received)
	complete atomic.Int64 // body read to the end without error
}

// aRecordingBackend starts a backend that records every request and
// answers 200 with its name.
func aRecordingBackend(t testing.TB, name string) *aRecorder {
	t.Helper()
	rec := &aRecorder{name: name}
	rec.URL = testutil.Serve(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.started.Add(1)
		b, err := io.ReadAll(r.Body)
		if err == nil {
			rec.complete.Add(1)
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, aSeen{Method: r.Method, Path: r.URL.Path, Host: r.Host, Header: r.Header.Clone(), Body: string(b), BodyErr: err, RemoteAddr: r.RemoteAddr})
		rec.mu.Unlock()
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}), ReadHeaderTimeout: 10 * time.Second})
	return rec
}

// last returns the last request the backend saw; it fails the test if
// there is none.
func (r *aRecorder) last(t testing.TB) aSeen {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatalf("backend %s received no request", r.name)
	}
	return r.reqs[len(r.reqs)-1]
}

// count is the number of requests whose headers reached the backend.
func (r *aRecorder) count() int64 { return r.started.Load() }

// aSlowBackend answers 200 with its name after sleeping d.
func aSlowBackend(t testing.TB, name string, d time.Duration) string {
	t.Helper()
	return testutil.Serve(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	})})
}

// aClosedPortURL returns the URL of a loopback port on which nothing listens.
func aClosedPortURL(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t))
}

// aResp is what a client saw.
type aResp struct {
	status int
	header http.Header
	body   string
}

// aClient sends every request on a new connection so that each
// test case is independent.
var aClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	Timeout:   10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// aDo sends a request with extra headers and returns the response.
func aDo(t testing.TB, method, url, host string, hdr http.Header, body io.Reader) aResp {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := aClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, url, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return aResp{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// aRaw is what came back for raw bytes sent over TCP.
type aRaw struct {
	status int    // 0 when no status line was read
	raw    string // everything read
	closed bool   // the server closed the connection (EOF or reset)
}

// aSendRaw writes raw to addr, half-closes nothing, and reads the first
// response (or until EOF/timeout). The connection is closed on return.
func aSendRaw(t testing.TB, addr, raw string, timeout time.Duration) aRaw {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, raw); err != nil {
		// The server may have answered and closed already; read what it sent.
		t.Logf("write: %v", err)
	}
	var res aRaw
	br := bufio.NewReader(c)
	var buf bytes.Buffer
	resp, err := http.ReadResponse(br, nil)
	if err == nil {
		res.status = resp.StatusCode
		fmt.Fprintf(&buf, "%s\n", resp.Status)
		b, berr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		buf.Write(b)
		resp.Body.Close()
		if berr != nil && !aIsTimeout(berr) {
			res.closed = true
		}
		// Is the connection closed after the answer?
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := br.ReadByte(); err != nil && !aIsTimeout(err) {
			res.closed = true
		}
	} else {
		rest, _ := io.ReadAll(br)
		buf.Write(rest)
		if !aIsTimeout(err) {
			res.closed = true
		}
	}
	res.raw = buf.String()
	return res
}

func aIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// addr returns host:port of an entrypoint.
func (in *instance) aAddr(ep string) string {
	return fmt.Sprintf("127.0.0.1:%d", in.ports[ep])
}

// aWriteFile writes content to name in dir and returns the path.
func aWriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// aRunBerth runs the berth binary with args (bounded by 20 s) and returns
// its exit code and combined output.
func aRunBerth(t testing.TB, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return 0, string(out)
}

// aWaitBody polls url with host until the body starts with want and returns
// how long it took; it fails after timeout.
func aWaitBody(t testing.TB, url, host, want string, timeout time.Duration) time.Duration {
	t.Helper()
	return aPoll(t, url, host, fmt.Sprintf("body %q", want), timeout, func(_ int, body string) bool {
		return strings.HasPrefix(body, want)
	})
}

// aWaitStatus polls url until it answers status and returns how long it took.
func aWaitStatus(t testing.TB, url, host string, status int, timeout time.Duration) time.Duration {
	t.Helper()
	return aPoll(t, url, host, fmt.Sprintf("status %d", status), timeout, func(code int, _ string) bool {
		return code == status
	})
}

// aPoll sends GET url with host every 5 ms until ok accepts the answer,
// and returns how long it took; it fails after timeout.
func aPoll(t testing.TB, url, host, want string, timeout time.Duration, ok func(status int, body string) bool) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		r, err := aClient.Do(aNewReq(t, url, host))
		if err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			last = fmt.Sprintf("%d %q", r.StatusCode, b)
			if ok(r.StatusCode, string(b)) {
				return time.Since(start)
			}
		} else {
			last = err.Error()
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("GET %s (Host %s): want %s within %v, last: %s", url, host, want, timeout, last)
	return 0
}

func aNewReq(t testing.TB, url, host string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	return req
}

// service returns the YAML of one load-balancer service.
func aService(name string, urls ...string) string {
	return fmt.Sprintf("    %s:\n      loadBalancer:\n        servers:\n%s", name, yamlServers(urls...))
}
