//go:build acme

package acme

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/test/testutil"
)

// TestIssuance obtains a certificate with each challenge and serves a real
// HTTPS request with it, verified against Pebble's root.
func TestIssuance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc, challenge string
	}{
		{desc: "HTTP-01", challenge: "http"},
		{desc: "TLS-ALPN-01", challenge: "tls"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, pebbleOptions{})
			b := e.startBerth(t, berthOptions{challenge: tt.challenge})
			b.route(t, "a.yml", "app", "app.test", backend(t))
			b.waitCert(t, "app.test", 30*time.Second)
			if got := b.get(t, "app.test"); got != "hello app.test" {
				t.Errorf("body %q", got)
			}
			if n := e.orders(); n != 1 {
				t.Errorf("%d orders, want 1", n)
			}
			st, err := os.Stat(b.storage)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("storage mode %v, want 0600", st.Mode().Perm())
			}
		})
	}
}

// TestRouterAddedAtRuntime: a router that appears later gets its
// certificate without a restart; until then the default one is served.
func TestRouterAddedAtRuntime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pebbleOptions{})
	b := e.startBerth(t, berthOptions{})
	be := backend(t)
	b.route(t, "a.yml", "a", "a.test", be)
	b.waitCert(t, "a.test", 30*time.Second)
	if _, err := b.handshake("b.test"); err == nil {
		t.Fatal("b.test has a valid certificate before its router exists")
	}
	b.route(t, "b.yml", "b", "b.test", be)
	start := time.Now()
	b.waitCert(t, "b.test", 30*time.Second)
	t.Logf("certificate for the new router served %v after the file changed", time.Since(start).Round(time.Millisecond))
	if got := b.get(t, "b.test"); got != "hello b.test" {
		t.Errorf("body %q", got)
	}
	// a.test is not ordered again.
	if n := e.orders(); n != 2 {
		t.Errorf("%d orders, want 2", n)
	}
}

// TestRestartReusesStorage: a restarted berth serves the stored
// certificate and orders nothing.
func TestRestartReusesStorage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pebbleOptions{})
	b := e.startBerth(t, berthOptions{})
	b.route(t, "a.yml", "a", "a.test", backend(t))
	first := b.waitCert(t, "a.test", 30*time.Second)
	b.stop(t)

	b2 := e.startBerth(t, berthOptions{storage: b.storage, dynamic: b.dynamic})
	second := b2.waitCert(t, "a.test", 10*time.Second)
	if first.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Errorf("serial %x after restart, want the stored %x", second.SerialNumber, first.SerialNumber)
	}
	// Give the manager time to (wrongly) order again.
	time.Sleep(2 * time.Second)
	if n := e.orders(); n != 1 {
		t.Errorf("%d orders, want 1", n)
	}
	if n := b2.count("ACME account registered"); n != 0 {
		t.Errorf("a new account was registered after restart")
	}
}

// TestRenewal: a short-lived certificate is renewed, repeatedly, and a
// valid certificate is served throughout.
func TestRenewal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pebbleOptions{shortValidity: 20})
	b := e.startBerth(t, berthOptions{profile: "short"})
	b.route(t, "a.yml", "a", "a.test", backend(t))
	first := b.waitCert(t, "a.test", 30*time.Second)
	if life := first.NotAfter.Sub(first.NotBefore); life > time.Minute {
		t.Fatalf("certificate valid for %v; the short profile was not used", life)
	}
	serials := map[string]bool{first.SerialNumber.String(): true}
	deadline := time.Now().Add(60 * time.Second)
	for len(serials) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d distinct certificates in 60s, want 3 (two renewals)", len(serials))
		}
		leaf, err := b.handshake("a.test")
		if err != nil {
			t.Fatalf("during renewal, the served certificate does not verify: %v", err)
		}
		serials[leaf.SerialNumber.String()] = true
		time.Sleep(200 * time.Millisecond)
	}
	if n := b.count(`"renewal": true`); n < 2 {
		t.Errorf("%d renewals logged, want 2 or more", n)
	}
}

// TestRejectedChallenge: a validation that fails is reported with the
// CA's problem, retried with backoff, and succeeds once the cause is gone;
// other routes are not affected.
func TestRejectedChallenge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pebbleOptions{})
	// Pebble resolves bad.test to an address where berth does not listen.
	e.setA(t, "bad.test", "127.0.0.2")
	apiPort := testutil.FreePort(t)
	b := e.startBerth(t, berthOptions{extra: []string{
		fmt.Sprintf("--entryPoints.traefik.address=127.0.0.1:%d", apiPort),
		"--api.insecure=true", "--metrics.prometheus=true",
	}})
	be := backend(t)
	b.route(t, "bad.yml", "bad", "bad.test", be)
	b.route(t, "good.yml", "good", "good.test", be)
	b.waitCert(t, "good.test", 30*time.Second)

	b.waitFor(t, "obtaining a certificate failed", 2, 30*time.Second)
	out := b.output()
	for _, want := range []string{"bad.test", "urn:ietf:params:acme:error:connection", `"attempt": 2`, "retryIn"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failure log does not mention %q", want)
		}
	}
	if _, err := b.handshake("bad.test"); err == nil {
		t.Error("bad.test has a valid certificate while its validation fails")
	}
	// The failure is shown by the API and counted in /metrics, not only
	// logged.
	for _, c := range []struct{ path, want string }{
		{"/api/problems", "bad.test"},
		{"/metrics", `berth_acme_failures_total{kind=`},
	} {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", apiPort, c.path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), c.want) {
			t.Errorf("%s does not mention %q:\n%.2000s", c.path, c.want, body)
		}
	}
	e.setA(t, "bad.test", "")
	b.waitCert(t, "bad.test", 30*time.Second)
	if got := b.get(t, "good.test"); got != "hello good.test" {
		t.Errorf("body %q", got)
	}
}

// TestCorruptStorage: a storage file that does not parse is moved aside,
// reported with its path, and not overwritten; berth starts fresh.
func TestCorruptStorage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pebbleOptions{})
	storage := filepath.Join(t.TempDir(), "acme.json")
	garbage := []byte(`{"le": {"Account": {"Email": "x@y.z"`) // torn write
	if err := os.WriteFile(storage, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	b := e.startBerth(t, berthOptions{storage: storage})
	b.route(t, "a.yml", "a", "a.test", backend(t))
	b.waitCert(t, "a.test", 30*time.Second)
	b.waitFor(t, "the ACME storage is corrupt", 1, 5*time.Second)
	if !strings.Contains(b.output(), storage) {
		t.Error("the corruption log does not name the file")
	}
	moved, _ := filepath.Glob(storage + ".corrupt-*")
	if len(moved) != 1 {
		t.Fatalf("moved-aside files: %v, want one", moved)
	}
	if got, _ := os.ReadFile(moved[0]); string(got) != string(garbage) {
		t.Errorf("the corrupt file was changed: %q", got)
	}
	// The new storage is valid and holds the new certificate.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var data map[string]struct{ Certificates []json.RawMessage }
		raw, err := os.ReadFile(storage)
		if err == nil && json.Unmarshal(raw, &data) == nil && len(data["le"].Certificates) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("storage after recovery: %v %s", err, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOnDemand: a name no router asks for gets a certificate during its
// first handshake if the ask URL allows it, and only then.
func TestOnDemand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pebbleOptions{})
	ask := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("domain") == "yes.test" {
			return
		}
		http.Error(w, "no", http.StatusForbidden)
	}))
	t.Cleanup(ask.Close)
	b := e.startBerth(t, berthOptions{extra: []string{
		"--certificatesResolvers.le.acme.onDemand.ask=" + ask.URL + "/allowed",
		"--certificatesResolvers.le.acme.onDemand.rateLimit=5",
	}})
	// Wait until berth has applied a configuration (the manager runs).
	b.route(t, "a.yml", "a", "a.test", backend(t))
	b.waitCert(t, "a.test", 30*time.Second)

	start := time.Now()
	if _, err := b.handshake("yes.test"); err != nil {
		t.Fatalf("the first handshake for an allowed name did not get a valid certificate: %v", err)
	}
	t.Logf("on-demand handshake took %v", time.Since(start).Round(time.Millisecond))
	if _, err := b.handshake("no.test"); err == nil {
		t.Error("a refused name got a certificate")
	}
	if n := e.orders(); n != 2 {
		t.Errorf("%d orders, want 2", n)
	}
}
