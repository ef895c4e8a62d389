// Package testutil is the harness shared by berth's end-to-end suites
// (test/e2e, test/observability, test/acme and test/docker): it builds the
// berth binary, hands out loopback ports, runs processes with their output
// kept for assertions, serves test backends and polls for conditions.
//
// It imports only the standard library; what is particular to one suite
// stays in that suite.
package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ModuleRoot returns the directory holding berth's go.mod, found by
// walking up from the working directory (a test's package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// GoBuild builds the package pkg (a path relative to the module root, such
// as "./cmd/berth") into the binary out, with CGO_ENABLED=0.
func GoBuild(out, pkg string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// BuildBerth builds the berth binary into a new temporary directory, for a
// TestMain. cleanup removes the directory.
func BuildBerth() (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "berth-test-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	path = filepath.Join(dir, "berth")
	if err := GoBuild(path, "./cmd/berth"); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("building berth: %w", err)
	}
	return path, cleanup, nil
}

// RunWithBerth is the body of a suite's TestMain: it builds berth, sets
// *bin to its path, runs the tests and returns their exit code (1 if the
// build fails). The binary is removed afterwards.
func RunWithBerth(m *testing.M, bin *string) int {
	path, cleanup, err := BuildBerth()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	*bin = path
	return m.Run()
}

// Serve runs srv on a new loopback listener until the end of the test and
// returns its http:// URL.
func Serve(t testing.TB, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// WriteAtomic replaces the file path with content atomically, as editors
// do: it writes a hidden temporary file next to it and renames it.
func WriteAtomic(t testing.TB, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// buffer is a bytes.Buffer safe for a process writing and a test reading.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Proc is a child process whose output (stdout and stderr) is kept.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	// StopTimeout is how long Stop waits after SIGTERM before it kills the
	// process; 10 s unless set.
	StopTimeout time.Duration
	// LogTail, when positive, limits the output logged for a failed test
	// to its last LogTail lines.
	LogTail int

	out  buffer
	done chan struct{}
}

// Start runs bin with args and the environment plus env. When the test
// ends the process is stopped (Stop) and, if the test failed, its output
// is logged.
func Start(t testing.TB, name string, env []string, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, StopTimeout: 10 * time.Second, done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = &p.out, &p.out
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(p.Log(), p.LogTail))
		}
	})
	return p
}

func tail(s string, n int) string {
	if n <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Log returns the process's output so far.
func (p *Proc) Log() string { return p.out.String() }

// Done is closed once the process has exited (Cmd.ProcessState is then
// set).
func (p *Proc) Done() <-chan struct{} { return p.done }

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Stop ends the process: SIGTERM, then SIGKILL after StopTimeout, and
// waits for it. It returns an error if the process had to be killed.
func (p *Proc) Stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(p.StopTimeout):
		_ = p.Cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop on SIGTERM", p.Name)
	}
}

// Kill kills the process at once and waits for it.
func (p *Proc) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// Eventually calls f until it returns nil, every 10 ms; it fails the test
// with f's last error once timeout has passed. f runs at least once.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitTCP waits until addr accepts TCP connections.
func WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return fmt.Errorf("%s does not listen: %w", addr, err)
		}
		return c.Close()
	})
}

// WaitHTTP200 waits until a GET of url answers 200. It fails the test at
// once if p (when not nil) exits meanwhile.
func WaitHTTP200(t testing.TB, p *Proc, url string, timeout time.Duration) {
	t.Helper()
	// A short client timeout keeps a server that accepts but hangs from
	// blocking past the deadline.
	client := &http.Client{Timeout: time.Second}
	Eventually(t, timeout, func() error {
		if p != nil {
			select {
			case <-p.Done():
				t.Fatalf("%s exited early:\n%s", p.Name, p.Log())
			default:
			}
		}
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
		}
		return nil
	})
}
