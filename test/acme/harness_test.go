//go:build acme

// Package acme tests berth's ACME client end to end against Pebble, Let's
// Encrypt's test CA, with pebble-challtestsrv as its DNS server answering
// 127.0.0.1 for every name, everything on loopback. Pebble validates
// HTTP-01 and TLS-ALPN-01 challenges by connecting to berth's entrypoints.
//
// The pebble and pebble-challtestsrv binaries must be on PATH or in
// $(go env GOPATH)/bin (.ci/run installs them); without them the tests are
// skipped with a message saying how to install them.
package acme

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/test/testutil"
)

// pebbleVersion is what .ci/run installs.
const pebbleVersion = "v2.10.1"

var (
	berthBin   string
	pebbleBin  string
	challtBin  string
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	pebbleBin, challtBin = findTool("pebble"), findTool("pebble-challtestsrv")
	if pebbleBin == "" || challtBin == "" {
		skipReason = "pebble and pebble-challtestsrv are not on PATH nor in $(go env GOPATH)/bin; install them with " +
			"go install github.com/letsencrypt/pebble/v2/cmd/pebble@" + pebbleVersion +
			" github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@" + pebbleVersion
		// In CI (.ci/run installs Pebble) a missing tool is a failure:
		// a suite that silently skips proves nothing.
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "test/acme: FAIL:", skipReason)
			return 1
		}
		fmt.Fprintln(os.Stderr, "test/acme: SKIP:", skipReason)
		return m.Run()
	}
	return testutil.RunWithBerth(m, &berthBin)
}

// findTool looks for a binary on PATH, then in $(go env GOPATH)/bin.
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	for _, gp := range filepath.SplitList(strings.TrimSpace(string(out))) {
		p := filepath.Join(gp, "bin", name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// proc is a child process with its output kept for assertions.
type proc struct {
	*testutil.Proc
}

func (p *proc) output() string { return p.Log() }

// count counts lines of the output containing s.
func (p *proc) count(s string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(p.output()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

// waitFor waits until the output has n lines containing s.
func (p *proc) waitFor(t testing.TB, s string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for p.count(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d line(s) with %q after %v, want %d; output:\n%s", p.Name, p.count(s), s, timeout, n, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// start runs a process until stop or the end of the test.
func start(t testing.TB, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{testutil.Start(t, name, env, bin, args...)}
	// Runs before the cleanup of testutil.Start, which logs the output of
	// a failed test.
	t.Cleanup(func() {
		p.stop(t)
		// ACME_TEST_VERBOSE=1 shows the output of passing tests too.
		if !t.Failed() && name == "berth" && os.Getenv("ACME_TEST_VERBOSE") != "" {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return p
}

// stop ends the process (SIGTERM, then SIGKILL after 10 s).
func (p *proc) stop(t testing.TB) {
	if err := p.Stop(); err != nil {
		t.Error(err)
	}
}

// env is one Pebble CA with its DNS server, and the ports berth must
// listen on for Pebble's validations.
type env struct {
	dir       string
	httpPort  int // Pebble validates HTTP-01 here: berth's "web"
	tlsPort   int // Pebble validates TLS-ALPN-01 here: berth's "websecure"
	dirURL    string
	mgmt      string
	challMgmt string
	caFile    string         // trust for Pebble's ACME API
	roots     *x509.CertPool // Pebble's issuing root
	pebble    *proc
}

// pebbleOptions tune one Pebble.
type pebbleOptions struct {
	// shortValidity is the validity of the "short" profile, in seconds.
	shortValidity int
}

// newEnv starts pebble-challtestsrv and Pebble on loopback.
func newEnv(t *testing.T, o pebbleOptions) *env {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if o.shortValidity == 0 {
		o.shortValidity = 30
	}
	e := &env{dir: t.TempDir(), httpPort: testutil.FreePort(t), tlsPort: testutil.FreePort(t)}
	dnsPort, challMgmt := testutil.FreePort(t), testutil.FreePort(t)
	e.challMgmt = fmt.Sprintf("127.0.0.1:%d", challMgmt)
	start(t, "pebble-challtestsrv", nil, challtBin,
		"-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort),
		"-management", e.challMgmt,
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")

	certFile, keyFile := e.writeAPICert(t)
	listen, mgmt := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	type profile struct {
		Description    string `json:"description"`
		ValidityPeriod int    `json:"validityPeriod"`
	}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           listen,
		"managementListenAddress": mgmt,
		"certificate":             certFile,
		"privateKey":              keyFile,
		"httpPort":                e.httpPort,
		"tlsPort":                 e.tlsPort,
		"ocspResponderURL":        "",
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]profile{
			"default": {Description: "90 days", ValidityPeriod: 90 * 24 * 3600},
			"short":   {Description: "short-lived", ValidityPeriod: o.shortValidity},
		},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(e.dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.pebble = start(t, "pebble", []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, pebbleBin,
		"-config", cfgFile, "-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort))
	e.dirURL, e.mgmt = "https://"+listen+"/dir", mgmt
	waitTCP(t, listen)
	waitTCP(t, mgmt)
	waitTCP(t, e.challMgmt)
	e.roots = e.fetchRoot(t)
	return e
}

// writeAPICert makes a CA and a certificate for Pebble's HTTPS API.
func (e *env) writeAPICert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble API test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	e.caFile = filepath.Join(e.dir, "pebble-api-ca.pem")
	certFile, keyFile = filepath.Join(e.dir, "api.pem"), filepath.Join(e.dir, "api.key")
	for f, b := range map[string][]byte{
		e.caFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// apiClient trusts Pebble's API certificate.
func (e *env) apiClient(t testing.TB) *http.Client {
	pool := x509.NewCertPool()
	b, err := os.ReadFile(e.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(b)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// fetchRoot gets the root that signs the certificates Pebble issues.
func (e *env) fetchRoot(t *testing.T) *x509.CertPool {
	t.Helper()
	res, err := e.apiClient(t).Get("https://" + e.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("no root in %q", b)
	}
	return pool
}

// orders is the number of orders Pebble has created.
func (e *env) orders() int { return e.pebble.count("Added order") }

// setA makes the DNS server answer addr for host ("" clears it).
func (e *env) setA(t testing.TB, host, addr string) {
	t.Helper()
	path, body := "/clear-a", fmt.Sprintf(`{"host":%q}`, host)
	if addr != "" {
		path, body = "/add-a", fmt.Sprintf(`{"host":%q,"addresses":[%q]}`, host, addr)
	}
	res, err := http.Post("http://"+e.challMgmt+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("challtestsrv %s: %s", path, res.Status)
	}
}

func waitTCP(t testing.TB, addr string) {
	t.Helper()
	testutil.WaitTCP(t, addr, 10*time.Second)
}

// berth is a running berth with its dynamic configuration directory.
type berth struct {
	*proc
	e       *env
	dynamic string
	storage string
}

// berthOptions say how to run berth against an env.
type berthOptions struct {
	challenge string // "http" (default) or "tls"
	profile   string
	storage   string // default: a new file in the env's directory
	dynamic   string // default: a new directory
	extra     []string
}

// startBerth runs berth with a resolver "le" on Pebble, "web" on the
// env's HTTP port and "websecure" on its TLS port.
func (e *env) startBerth(t *testing.T, o berthOptions) *berth {
	t.Helper()
	b := &berth{e: e, dynamic: o.dynamic, storage: o.storage}
	if b.dynamic == "" {
		b.dynamic = t.TempDir()
	}
	if b.storage == "" {
		b.storage = filepath.Join(t.TempDir(), "acme.json")
	}
	args := []string{
		fmt.Sprintf("--entryPoints.web.address=127.0.0.1:%d", e.httpPort),
		fmt.Sprintf("--entryPoints.websecure.address=127.0.0.1:%d", e.tlsPort),
		"--providers.file.directory=" + b.dynamic, "--providers.file.watch=true",
		"--certificatesResolvers.le.acme.email=admin@example.com",
		"--certificatesResolvers.le.acme.caServer=" + e.dirURL,
		"--certificatesResolvers.le.acme.storage=" + b.storage,
		"--certificatesResolvers.le.acme.caCertificates=" + e.caFile,
		"--log.level=DEBUG",
	}
	if o.challenge == "tls" {
		args = append(args, "--certificatesResolvers.le.acme.tlsChallenge=true")
	} else {
		args = append(args, "--certificatesResolvers.le.acme.httpChallenge.entryPoint=web")
	}
	// Pebble picks a random profile for orders that name none, so always
	// name one: certificates valid 90 days unless the test wants short ones.
	if o.profile == "" {
		o.profile = "default"
	}
	args = append(args, "--certificatesResolvers.le.acme.profile="+o.profile)
	args = append(args, o.extra...)
	b.proc = start(t, "berth", []string{"BERTHDEV_ACME_RETRY_BASE=1s", "BERTHDEV_ACME_RETRY_MAX=4s"}, berthBin, args...)
	waitTCP(t, fmt.Sprintf("127.0.0.1:%d", e.tlsPort))
	return b
}

// backend is a tiny HTTP server answering "hello <host>".
func backend(t testing.TB) string {
	t.Helper()
	return testutil.Serve(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.Host)
	})})
}

// route writes a dynamic file with a TLS router for host on websecure,
// resolved by "le".
func (b *berth) route(t testing.TB, file, router, host, backendURL string) {
	t.Helper()
	y := fmt.Sprintf(`http:
  routers:
    %[1]s:
      rule: "Host(`+"`%[2]s`"+`)"
      entryPoints: [websecure]
      service: %[1]s
      tls:
        certResolver: le
  services:
    %[1]s:
      loadBalancer:
        servers:
          - url: %[3]q
`, router, host, backendURL)
	testutil.WriteAtomic(t, filepath.Join(b.dynamic, file), y)
}

// handshake connects to websecure with SNI host and returns the served
// leaf, and whether it verifies against Pebble's root for host.
func (b *berth) handshake(host string) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp",
		fmt.Sprintf("127.0.0.1:%d", b.e.tlsPort), &tls.Config{ServerName: host, InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	cs := conn.ConnectionState()
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: b.e.roots, Intermediates: inter})
	return leaf, err
}

// waitCert waits until websecure serves a certificate for host issued by
// Pebble, and returns it.
func (b *berth) waitCert(t testing.TB, host string, timeout time.Duration) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		leaf, err := b.handshake(host)
		if err == nil {
			return leaf
		}
		if time.Now().After(deadline) {
			t.Fatalf("no valid certificate for %s after %v: %v", host, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get makes a real HTTPS request through berth, verifying the certificate
// against Pebble's root.
func (b *berth) get(t testing.TB, host string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: b.e.roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", b.e.tlsPort))
		},
	}}
	res, err := c.Get("https://" + host + "/")
	if err != nil {
		t.Fatalf("GET https://%s/: %v", host, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET https://%s/: %s: %s", host, res.Status, body)
	}
	return string(body)
}
