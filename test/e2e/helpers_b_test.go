//go:build e2e

package e2e

// Helpers for protocols_test.go, tls_test.go and middlewares_test.go:
// custom backends, a test certificate authority, and clients that send
// every connection to a berth port on 127.0.0.1 whatever the URL's host,
// so that Host and SNI can be real names.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/test/testutil"
)

// bServe runs h on a loopback listener and returns its http:// URL.
func bServe(t testing.TB, h http.Handler) string {
	t.Helper()
	return testutil.Serve(t, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second})
}

// bSeen is what bEcho saw of a request.
type bSeen struct {
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	URI      string      `json:"uri"` // the request target as received
	RawQuery string      `json:"rawQuery"`
	Host     string      `json:"host"`
	Proto    string      `json:"proto"`
	Header   http.Header `json:"header"`
}

// bEcho answers every request with a JSON description of it, and the
// bResp header X-From-Backend: yes.
func bEcho(t testing.TB) string {
	t.Helper()
	return bServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-From-Backend", "yes")
		_ = json.NewEncoder(w).Encode(bSeen{
			Method: r.Method, Path: r.URL.Path, URI: r.RequestURI, RawQuery: r.URL.RawQuery,
			Host: r.Host, Proto: r.Proto, Header: r.Header,
		})
	}))
}

// bToLoopback is a DialContext that keeps the port of the address but always
// dials 127.0.0.1, so that URLs such as http://a.example.com:PORT/ reach
// berth on loopback with their real Host and SNI.
func bToLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	return d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
}

// bNoRedirect makes a client return redirects instead of following them.
func bNoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// bClient returns a client that dials loopback (bToLoopback), does not
// follow redirects, and for https:// trusts roots (nil: accepts any
// certificate) and negotiates HTTP/2 by ALPN.
func bClient(t testing.TB, roots *x509.CertPool) *http.Client {
	tc := &tls.Config{RootCAs: roots, InsecureSkipVerify: roots == nil} //nolint:gosec // test against our own proxy
	tr := &http.Transport{
		DialContext:       bToLoopback,
		TLSClientConfig:   tc,
		ForceAttemptHTTP2: true,
		MaxIdleConns:      10,
		IdleConnTimeout:   5 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: bNoRedirect, Timeout: 30 * time.Second}
}

// bResp is a finished exchange.
type bResp struct {
	status int
	proto  int // ProtoMajor
	header http.Header
	body   string
	tls    *tls.ConnectionState
}

// do sends a request and reads the whole answer; it fails the test on a
// transport error.
func bDo(t testing.TB, c *http.Client, method, url string, hdr http.Header, body io.Reader) bResp {
	t.Helper()
	r, err := bTryDo(c, method, url, hdr, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func bTryDo(c *http.Client, method, url string, hdr http.Header, body io.Reader) (bResp, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return bResp{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return bResp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return bResp{}, fmt.Errorf("reading body: %w", err)
	}
	return bResp{status: resp.StatusCode, proto: resp.ProtoMajor, header: resp.Header, body: string(b), tls: resp.TLS}, nil
}

// seen decodes bEcho's answer.
func (r bResp) seen(t testing.TB) bSeen {
	t.Helper()
	var s bSeen
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatalf("not an echo answer (status %d): %q: %v", r.status, r.body, err)
	}
	return s
}

// bURL is a URL on a berth entrypoint with a real host name; clients
// from bClient dial it on loopback.
func (in *instance) bURL(scheme, host, ep, path string) string {
	return fmt.Sprintf("%s://%s:%d%s", scheme, host, in.ports[ep], path)
}

// bWaitLog waits until berth's output contains s.
func (in *instance) bWaitLog(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() string {
		if strings.Contains(in.Log(), s) {
			return ""
		}
		return fmt.Sprintf("log does not contain %q", s)
	})
}

// bCA is a certificate authority made for one test.
type bCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func bNewCA(t testing.TB) *bCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          bSerial(t),
		Subject:               pkix.Name{CommonName: "berth e2e test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &bCA{cert: cert, key: key, pool: pool}
}

func bSerial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// bLeaf is a certificate and its key in PEM.
type bLeaf struct {
	cert, key string
}

// issue makes a server certificate with common name cn for the DNS names.
func (ca *bCA) issue(t testing.TB, cn string, dns ...string) bLeaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: bSerial(t),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dns,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return bLeaf{
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}
}

// write stores the pair as dir/name.crt and dir/name.key and returns the
// paths.
func (p bLeaf) write(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, []byte(p.cert), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(p.key), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// bYAMLBlock renders s as a YAML literal block scalar ("|") whose lines are
// indented by indent spaces, for inline PEM.
func bYAMLBlock(s string, indent int) string {
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString("|\n")
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(pad + line + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// bHandshake opens a TLS connection to a berth port with the given SNI and
// version range, without verifying the certificate, and returns the
// connection state.
func bHandshake(port int, sni string, minV, maxV uint16) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: minV, MaxVersion: maxV} //nolint:gosec // inspecting the served certificate
	conn, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}

// bServedCN returns the common name of the certificate berth serves for sni.
func bServedCN(port int, sni string) (string, error) {
	cs, err := bHandshake(port, sni, tls.VersionTLS12, 0)
	if err != nil {
		return "", err
	}
	if len(cs.PeerCertificates) == 0 {
		return "", errors.New("no peer certificate")
	}
	return cs.PeerCertificates[0].Subject.CommonName, nil
}
