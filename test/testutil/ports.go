package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// A port that a test hands to a child process (berth, Prometheus) cannot be
// held open until the child binds it, so it must be one that nothing else
// is likely to take in between. Ports from "listen on :0" come from the
// kernel's ephemeral range, the same range every outgoing connection on the
// machine draws its local port from; under load (the Docker suite opens
// thousands of connections) one of those can land on the port first, and
// berth then fails with "address already in use". So ports are chosen at
// random below the ephemeral range, never twice in one test binary, and
// checked free before they are handed out.

var ports struct {
	sync.Mutex
	given map[int]bool
}

// portWindow returns the range [lo, hi) to draw ports from: the 12,000
// ports below the start of the kernel's ephemeral range.
func portWindow() (lo, hi int) {
	hi = 32768 // Linux's default start of ip_local_port_range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				hi = n
			}
		}
	}
	return hi - 12000, hi
}

// FreeAddr returns a loopback address (127.0.0.1:port) that is free now and
// outside the ephemeral port range; see the note above.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}

// FreePort returns a loopback port, free now for both TCP and UDP and
// outside the ephemeral port range; see the note above.
func FreePort(t testing.TB) int {
	t.Helper()
	lo, hi := portWindow()
	ports.Lock()
	defer ports.Unlock()
	if ports.given == nil {
		ports.given = make(map[int]bool)
	}
	for range 1000 {
		p := lo + rand.IntN(hi-lo)
		if ports.given[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // in use by someone else
		}
		ln.Close()
		// Pebble's DNS server takes UDP on a port from here too.
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		pc.Close()
		ports.given[p] = true
		return p
	}
	t.Fatalf("no free loopback port found in %d-%d", lo, hi-1)
	return 0
}
