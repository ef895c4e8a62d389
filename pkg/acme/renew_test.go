package acme

import (
	"crypto/x509"
	"math/big"
	"net/http"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestDefaultRenewal(t *testing.T) {
	tests := []struct {
		desc string
		life time.Duration
		want time.Duration // after NotBefore
	}{
		{desc: "90 days renews with 30 days left", life: 90 * 24 * time.Hour, want: 60 * 24 * time.Hour},
		{desc: "6-day certificate renews with 2 days left", life: 6 * 24 * time.Hour, want: 4 * 24 * time.Hour},
		{desc: "30-second certificate renews with 10 seconds left", life: 30 * time.Second, want: 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			leaf := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(tt.life)}
			if got := defaultRenewal(leaf); !got.Equal(t0.Add(tt.want)) {
				t.Errorf("got %v, want %v", got.Sub(t0), tt.want)
			}
		})
	}
}

func TestRenewalTime(t *testing.T) {
	w := window{Start: t0, End: t0.Add(48 * time.Hour)}
	tests := []struct {
		desc   string
		w      window
		r      float64
		want   time.Time
		wantOK bool
	}{
		{desc: "start of the window", w: w, r: 0, want: t0, wantOK: true},
		{desc: "middle of the window", w: w, r: 0.5, want: t0.Add(24 * time.Hour), wantOK: true},
		{desc: "end is excluded", w: w, r: 0.999999, want: t0.Add(48 * time.Hour), wantOK: true},
		{desc: "empty window is invalid", w: window{Start: t0, End: t0}, r: 0.5},
		{desc: "reversed window is invalid", w: window{Start: t0.Add(time.Hour), End: t0}, r: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, ok := renewalTime(tt.w, tt.r)
			if ok != tt.wantOK {
				t.Fatalf("ok %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if d := got.Sub(tt.want); d < -time.Second || d > time.Second {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if got.Before(tt.w.Start) || !got.Before(tt.w.End) {
				t.Errorf("%v is outside the window", got)
			}
		})
	}
}

func TestClampRenewal(t *testing.T) {
	leaf := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(100 * time.Second)}
	tests := []struct {
		desc   string
		in     time.Time
		expect time.Time
	}{
		{desc: "inside the lifetime is kept", in: t0.Add(50 * time.Second), expect: t0.Add(50 * time.Second)},
		{desc: "later than a tenth of the lifetime left is brought forward", in: t0.Add(99 * time.Second), expect: t0.Add(90 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := clampRenewal(tt.in, leaf); !got.Equal(tt.expect) {
				t.Errorf("got %v, want %v", got, tt.expect)
			}
		})
	}
}

func TestCertID(t *testing.T) {
	// The example of RFC 9773 section 4.1.
	aki := []byte{0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4}
	tests := []struct {
		desc    string
		leaf    *x509.Certificate
		want    string
		wantErr bool
	}{
		{desc: "RFC 9773 example (leading zero kept)", leaf: &x509.Certificate{AuthorityKeyId: aki, SerialNumber: big.NewInt(0x87654321)},
			want: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"},
		{desc: "serial without high bit", leaf: &x509.Certificate{AuthorityKeyId: []byte{1}, SerialNumber: big.NewInt(0x0102)}, want: "AQ.AQI"},
		{desc: "no authority key identifier", leaf: &x509.Certificate{SerialNumber: big.NewInt(1)}, wantErr: true},
		{desc: "no serial", leaf: &x509.Certificate{AuthorityKeyId: aki}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := certID(tt.leaf)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		desc, header string
		want         time.Duration
	}{
		{desc: "missing", header: "", want: defaultARIRecheck},
		{desc: "seconds", header: "3600", want: time.Hour},
		{desc: "too short is raised", header: "1", want: minARIRecheck},
		{desc: "too long is lowered", header: "604800", want: maxARIRecheck},
		{desc: "HTTP date", header: t0.Add(2 * time.Hour).Format(http.TimeFormat), want: 2 * time.Hour},
		{desc: "garbage", header: "soon", want: defaultARIRecheck},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := retryAfter(tt.header, t0); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{base: time.Minute, max: time.Hour}
	tests := []struct {
		desc     string
		failures int
		r        float64
		want     time.Duration
	}{
		{desc: "first failure, least jitter", failures: 1, r: 0, want: 30 * time.Second},
		{desc: "first failure, most jitter", failures: 1, r: 0.999999, want: time.Minute},
		{desc: "doubles", failures: 3, r: 0, want: 2 * time.Minute},
		{desc: "capped", failures: 10, r: 0, want: 30 * time.Minute},
		{desc: "capped with full jitter", failures: 100, r: 0.999999, want: time.Hour},
		{desc: "zero failures counts as one", failures: 0, r: 0, want: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := b.delay(tt.failures, tt.r)
			if d := got - tt.want; d < -10*time.Millisecond || d > 10*time.Millisecond {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
