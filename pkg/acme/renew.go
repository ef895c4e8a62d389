package acme

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Bounds on how often the renewal information of a certificate is asked
// again, whatever the CA's Retry-After says (RFC 9773 section 4.3.3).
const (
	minARIRecheck     = time.Minute
	maxARIRecheck     = 24 * time.Hour
	defaultARIRecheck = 6 * time.Hour
)

// window is a suggested renewal window: renew at a time in [Start, End).
type window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// renewalInfo is the ARI answer for one certificate.
type renewalInfo struct {
	Window         window `json:"suggestedWindow"`
	ExplanationURL string `json:"explanationURL,omitempty"`
	// RetryAfter is when to ask again (not part of the JSON).
	RetryAfter time.Duration `json:"-"`
}

// defaultRenewal is when a certificate is renewed without renewal
// information from the CA: when a third of its lifetime remains, as Let's
// Encrypt recommends. It works for short-lived certificates too: a
// six-day certificate is renewed two days before it expires.
func defaultRenewal(leaf *x509.Certificate) time.Time {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotAfter.Add(-life / 3)
}

// renewalTime picks the time to renew inside an ARI window, uniformly at
// random so that many clients do not renew at the same instant (RFC 9773
// section 4.2). r is in [0, 1). A window that is empty or reversed is
// invalid: the caller falls back to defaultRenewal.
func renewalTime(w window, r float64) (time.Time, bool) {
	if !w.Start.Before(w.End) {
		return time.Time{}, false
	}
	span := w.End.Sub(w.Start)
	return w.Start.Add(time.Duration(r * float64(span))), true
}

// clampRenewal keeps a renewal time chosen in an ARI window no later than
// when a tenth of the certificate's lifetime remains, so that a window
// ending at expiry (as Pebble suggests for short-lived certificates) still
// leaves time to retry a failed attempt before the certificate expires.
func clampRenewal(t time.Time, leaf *x509.Certificate) time.Time {
	latest := leaf.NotAfter.Add(-leaf.NotAfter.Sub(leaf.NotBefore) / 10)
	if t.After(latest) {
		return latest
	}
	return t
}

// certID is the ARI identifier of a certificate (RFC 9773 section 4.1):
// base64url(authority key identifier) "." base64url(serial number), the
// serial being the content octets of its DER INTEGER, so with a leading
// zero byte when the high bit is set.
func certID(leaf *x509.Certificate) (string, error) {
	if len(leaf.AuthorityKeyId) == 0 {
		return "", errors.New("the certificate has no authority key identifier")
	}
	if leaf.SerialNumber == nil || leaf.SerialNumber.Sign() <= 0 {
		return "", errors.New("the certificate has no positive serial number")
	}
	serial := leaf.SerialNumber.Bytes()
	if serial[0]&0x80 != 0 {
		serial = append([]byte{0}, serial...)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(leaf.AuthorityKeyId) + "." + enc.EncodeToString(serial), nil
}

// fetchRenewalInfo GETs the renewal information of a certificate from the
// directory's renewalInfo endpoint (an unauthenticated GET, RFC 9773
// section 4.3).
func fetchRenewalInfo(ctx context.Context, hc *http.Client, endpoint string, leaf *x509.Certificate, now time.Time) (*renewalInfo, error) {
	id, err := certID(leaf)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(endpoint, "/")+"/"+id, nil)
	if err != nil {
		return nil, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("renewalInfo: %s: %s", res.Status, strings.TrimSpace(string(body)))
	}
	var ri renewalInfo
	if err := json.Unmarshal(body, &ri); err != nil {
		return nil, fmt.Errorf("renewalInfo: %w", err)
	}
	if !ri.Window.Start.Before(ri.Window.End) {
		return nil, fmt.Errorf("renewalInfo: invalid window %s to %s", ri.Window.Start, ri.Window.End)
	}
	ri.RetryAfter = retryAfter(res.Header.Get("Retry-After"), now)
	return &ri, nil
}

// retryAfter parses a Retry-After header (seconds or an HTTP date) and
// clamps it to the bounds ARI clients keep.
func retryAfter(v string, now time.Time) time.Duration {
	d := defaultARIRecheck
	if v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			d = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	}
	return min(max(d, minARIRecheck), maxARIRecheck)
}

// backoff is the delay between failed attempts: exponential from base,
// capped at max, with jitter (a uniformly random delay between half and
// all of the exponential value) so that many names failing together do
// not retry together.
type backoff struct {
	base, max time.Duration
}

// delay is the wait after the failures-th consecutive failure (from 1); r
// is in [0, 1).
func (b backoff) delay(failures int, r float64) time.Duration {
	if failures < 1 {
		failures = 1
	}
	d := b.base
	for i := 1; i < failures && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return d/2 + time.Duration(r*float64(d/2))
}

// random is the source of jitter; tests replace it.
var random = rand.Float64
