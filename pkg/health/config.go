package health

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

// Defaults, as in Traefik.
const (
	DefaultInterval = 30 * time.Second
	DefaultTimeout  = 5 * time.Second
)

// Config is a validated active check with its defaults applied.
type Config struct {
	Mode            string // "http" or "grpc"
	Scheme          string // "" keeps the server's scheme
	Path            string
	Method          string
	Hostname        string
	Port            int
	Status          int // 0 accepts any 2xx or 3xx
	Interval        time.Duration
	Timeout         time.Duration
	FollowRedirects bool
	Headers         map[string]string
	Rise, Fall      int
	// TLS is used for https:// and TLS gRPC checks; nil means the system
	// roots. It is compared by pointer in Key, like the proxy's pools do.
	TLS *tls.Config
}

// FromConfig validates a service's healthCheck and applies the defaults.
func FromConfig(hc *config.HealthCheck) (Config, error) {
	c := Config{
		Mode:            strings.ToLower(hc.Mode),
		Scheme:          strings.ToLower(hc.Scheme),
		Path:            hc.Path,
		Method:          strings.ToUpper(hc.Method),
		Hostname:        hc.Hostname,
		Port:            hc.Port,
		Status:          hc.Status,
		Interval:        hc.Interval.D(),
		Timeout:         hc.Timeout.D(),
		FollowRedirects: hc.FollowRedirects == nil || *hc.FollowRedirects,
		Headers:         hc.Headers,
		Rise:            hc.Rise,
		Fall:            hc.Fall,
	}
	switch c.Mode {
	case "":
		c.Mode = "http"
	case "http", "grpc":
	default:
		return c, fmt.Errorf("healthCheck.mode %q: want http or grpc", hc.Mode)
	}
	switch c.Scheme {
	case "", "http", "https", "h2c":
	default:
		return c, fmt.Errorf("healthCheck.scheme %q: want http, https or h2c", hc.Scheme)
	}
	if c.Mode == "http" {
		if c.Path == "" {
			return c, fmt.Errorf("healthCheck.path is required in http mode, e.g. /health")
		}
		if !strings.HasPrefix(c.Path, "/") {
			return c, fmt.Errorf("healthCheck.path %q must start with /", c.Path)
		}
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if c.Port < 0 || c.Port > 65535 {
		return c, fmt.Errorf("healthCheck.port %d: out of range", c.Port)
	}
	if c.Status != 0 && (c.Status < 100 || c.Status > 599) {
		return c, fmt.Errorf("healthCheck.status %d: not an HTTP status", c.Status)
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout > c.Interval {
		c.Timeout = c.Interval
	}
	if c.Rise < 0 || c.Fall < 0 {
		return c, fmt.Errorf("healthCheck.rise and fall must not be negative")
	}
	if c.Rise == 0 {
		c.Rise = 1
	}
	if c.Fall == 0 {
		c.Fall = 1
	}
	return c, nil
}

// Key identifies a check configuration: equal keys share a checker.
func (c Config) Key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%s|%s|%d|%d|%d|%d|%t|%d|%d|%p", c.Mode, c.Scheme, c.Path, c.Method, c.Hostname,
		c.Port, c.Status, c.Interval, c.Timeout, c.FollowRedirects, c.Rise, c.Fall, c.TLS)
	keys := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "|%s=%s", k, c.Headers[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// target returns the URL the check requests for a server.
func (c Config) target(server *url.URL) *url.URL {
	u := &url.URL{Scheme: server.Scheme, Host: server.Host, Path: c.Path}
	if c.Scheme != "" {
		u.Scheme = c.Scheme
	}
	if c.Port != 0 {
		u.Host = joinPort(server.Hostname(), c.Port)
	}
	if i := strings.IndexByte(c.Path, '?'); i >= 0 {
		u.Path, u.RawQuery = c.Path[:i], c.Path[i+1:]
	}
	return u
}

func joinPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}
