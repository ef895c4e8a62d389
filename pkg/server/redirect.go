package server

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
)

// redirect sends every plain-HTTP request of an entrypoint to another
// entrypoint (http.redirections.entryPoint), usually HTTP to HTTPS.
type redirect struct {
	scheme    string
	port      string // "" when it is the scheme's default
	permanent bool
}

func newRedirect(cfg *config.RedirectEntryPoint, all map[string]*config.EntryPoint) (*redirect, error) {
	to := cfg.To
	if to == "" {
		return nil, fmt.Errorf("to is empty; name an entrypoint or a port such as \":443\"")
	}
	addr := to
	if target, ok := all[to]; ok {
		addr = strings.TrimSuffix(target.Address, "/tcp")
	} else if !strings.HasPrefix(to, ":") {
		return nil, fmt.Errorf("to %q is neither an entrypoint nor a port such as \":443\"", to)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("to %q: %v", to, err)
	}
	scheme := cfg.Scheme
	if scheme == "" {
		scheme = "https"
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	return &redirect{scheme: scheme, port: port, permanent: cfg.Permanent}, nil
}

func (rd *redirect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	if rd.port != "" {
		host += ":" + rd.port
	}
	loc := rd.scheme + "://" + host + r.URL.RequestURI()
	code := http.StatusFound
	if rd.permanent {
		code = http.StatusMovedPermanently
	}
	// GET and HEAD keep the historical 301/302; other methods get 307/308
	// so that clients repeat the method and body.
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		code = http.StatusTemporaryRedirect
		if rd.permanent {
			code = http.StatusPermanentRedirect
		}
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "%s\n", http.StatusText(code))
}

// PingHandler answers /ping: 200 "OK", or terminating (Traefik's
// terminatingStatusCode, 503 by default) while the server drains.
func PingHandler(s *Server, terminating int) http.Handler {
	if terminating == 0 {
		terminating = http.StatusServiceUnavailable
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusOK
		if s.Draining() {
			code = terminating
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(http.StatusText(code)))
		}
	})
}
