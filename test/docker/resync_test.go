//go:build docker

package dockere2e

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// faultInjector is a test-only proxy between berth and the Docker socket
// that the test can cut, to simulate a lost event stream or an engine
// restart without touching the engine.
type faultInjector struct {
	path, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newFaultInjector(t testing.TB) *faultInjector {
	t.Helper()
	f := &faultInjector{path: filepath.Join(t.TempDir(), "docker.sock"), target: "/var/run/docker.sock", conns: map[net.Conn]bool{}}
	f.restore(t)
	t.Cleanup(f.cut)
	return f
}

// restore listens again.
func (f *faultInjector) restore(t testing.TB) {
	t.Helper()
	_ = os.Remove(f.path)
	ln, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.ln = ln
	f.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.pipe(c)
		}
	}()
}

func (f *faultInjector) pipe(c net.Conn) {
	up, err := net.Dial("unix", f.target)
	if err != nil {
		c.Close()
		return
	}
	f.mu.Lock()
	f.conns[c], f.conns[up] = true, true
	f.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// cut closes the listener and every connection: berth sees its event
// stream break and cannot reconnect until restore.
func (f *faultInjector) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln != nil {
		f.ln.Close()
		f.ln = nil
	}
	for c := range f.conns {
		c.Close()
	}
	f.conns = map[net.Conn]bool{}
}

// TestResyncAfterStreamLoss cuts berth off the engine: routes stay in force
// meanwhile, and a container started during the cut is routed after berth
// reconnects and resynchronises.
func TestResyncAfterStreamLoss(t *testing.T) {
	t.Parallel()
	fi := newFaultInjector(t)
	b := startBerth(t, "--providers.docker.endpoint=unix://"+fi.path)
	start(t, container{name: "resync-1", labels: []string{"traefik.http.routers.resync1.rule=Host(`resync1.test`)"}})
	b.waitStatus(t, "resync1.test", 200, 10*time.Second)

	fi.cut()
	start(t, container{name: "resync-2", labels: []string{"traefik.http.routers.resync2.rule=Host(`resync2.test`)"}})
	time.Sleep(1500 * time.Millisecond)
	b.waitStatus(t, "resync1.test", 200, time.Second) // the last good configuration stays
	if code, _, _ := b.get("resync2.test", "/"); code != 404 {
		t.Fatalf("resync2.test answers %d during the cut, want 404", code)
	}
	restored := time.Now()
	fi.restore(t)
	b.waitStatus(t, "resync2.test", 200, 15*time.Second)
	t.Logf("routed %s after the engine came back", time.Since(restored).Round(time.Millisecond))
	b.waitStatus(t, "resync1.test", 200, time.Second)
}
