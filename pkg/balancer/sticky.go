package balancer

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // names only, as Traefik does; not a security boundary
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
)

// StickyConfig describes the sticky-session cookie (Traefik's options).
type StickyConfig struct {
	// Name of the cookie; empty derives one from Service as Traefik does.
	Name     string
	Secure   bool
	HTTPOnly bool
	SameSite http.SameSite
	MaxAge   int
	Path     string // default "/"
	Domain   string
	// Service is the service's qualified name; it names the default
	// cookie and salts the cookie values.
	Service string
	// Key makes cookie values unguessable: a value is HMAC-SHA256(Key,
	// service, server URL). Every berth replica behind the same clients
	// must use the same Key (BERTH_STICKY_KEY) for cookies to stay valid
	// across replicas and restarts. An empty Key derives one from Service,
	// which is stable everywhere but lets whoever knows the service name
	// test guesses of a server address against a cookie.
	Key []byte
}

// CookieName returns Traefik's default sticky cookie name for a service:
// "_" and the first six hex digits of a SHA-1 of the service name.
func CookieName(service string) string {
	sum := sha1.Sum([]byte("_TRAEFIK_BACKEND_" + service)) //nolint:gosec // see import
	return "_" + hex.EncodeToString(sum[:])[:6]
}

// sticky pins a client to the server named by its cookie while that server
// is usable; otherwise it balances with the inner picker and (re)writes the
// cookie. Cookie values are keyed hashes of the server URL, so they do not
// reveal addresses, and they depend only on the key, the service and the
// URL: a rebuilt table, another replica with the same key, or servers added
// to the service leave existing cookies valid.
type sticky struct {
	inner   Picker
	byValue map[string]*Server
	value   map[*Server]string
	cookie  http.Cookie
	servers []*Server
}

func newSticky(inner Picker, servers []*Server, cfg StickyConfig) *sticky {
	key := cfg.Key
	if len(key) == 0 {
		sum := sha256.Sum256([]byte("berth sticky key|" + cfg.Service))
		key = sum[:]
	}
	s := &sticky{
		inner:   inner,
		byValue: make(map[string]*Server, len(servers)),
		value:   make(map[*Server]string, len(servers)),
		servers: servers,
		cookie: http.Cookie{
			Name: cfg.Name, Secure: cfg.Secure, HttpOnly: cfg.HTTPOnly, SameSite: cfg.SameSite,
			MaxAge: cfg.MaxAge, Path: cfg.Path, Domain: cfg.Domain,
		},
	}
	if s.cookie.Name == "" {
		s.cookie.Name = CookieName(cfg.Service)
	}
	if s.cookie.Path == "" {
		s.cookie.Path = "/"
	}
	for _, srv := range servers {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(cfg.Service))
		m.Write([]byte{0})
		m.Write([]byte(srv.URL))
		v := base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
		s.byValue[v] = srv
		s.value[srv] = v
	}
	return s
}

// Pick returns the pinned server or balances and pins.
func (p *sticky) Pick(r *http.Request) (PickResult, error) { return p.pickExcept(r, nil) }

func (p *sticky) pickExcept(r *http.Request, skip *Server) (PickResult, error) {
	var c clock
	if v := cookieValue(r, p.cookie.Name); v != "" {
		if s, ok := p.byValue[v]; ok && s != skip && s.available(&c) && s.acquire() {
			return PickResult{Server: s}, nil
		}
	}
	res, err := PickExcept(p.inner, r, skip)
	if err != nil {
		return res, err
	}
	ck := p.cookie
	ck.Value = p.value[res.Server]
	res.SetCookie = &ck
	return res, nil
}

func (p *sticky) serverList() []*Server { return p.servers }

// cookieValue finds one cookie without parsing every cookie of the request
// into a slice, as r.Cookie would.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == name {
				return strings.Trim(v, `"`)
			}
		}
	}
	return ""
}

var (
	_ Picker   = (*sticky)(nil)
	_ excepter = (*sticky)(nil)
)
