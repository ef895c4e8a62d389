package proxy

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// h2Proxy is the HTTP/2 transport shared by every handler for one pool key:
// h2c:// servers (prior-knowledge cleartext HTTP/2) and gRPC requests to
// https:// servers. HTTP/2 multiplexes streams on few connections, so a
// stock transport is the right tool here and the fast HTTP/1.1 client is not
// used. It is net/http's own HTTP/2 client restricted to HTTP/2 through
// Protocols: golang.org/x/net/http2.Transport, which does the same, is
// deprecated in favour of it.
type h2Proxy struct {
	transport *http.Transport
	scheme    string // outbound URL scheme: "http" (h2c) or "https"
	addr      string
}

func newH2Proxy(key poolKey, serverName string) *h2Proxy {
	opts := key.opts
	dialer := &net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   opts.DialTimeout,
		ResponseHeaderTimeout: opts.ResponseHeaderTimeout,
		IdleConnTimeout:       opts.IdleConnTimeout,
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		// Never ask for gzip behind the client's back.
		DisableCompression: true,
		Protocols:          new(http.Protocols),
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: 30 * time.Second, // ping a silent connection
			PingTimeout:     15 * time.Second,
		},
	}
	hp := &h2Proxy{transport: t, addr: key.addr}
	if key.scheme == "h2c" {
		hp.scheme = "http"
		t.Protocols.SetUnencryptedHTTP2(true)
	} else {
		hp.scheme = "https"
		t.Protocols.SetHTTP2(true)
		var cfg *tls.Config
		if opts.TLSConfig != nil {
			cfg = opts.TLSConfig.Clone()
		} else {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = serverName
		}
		t.TLSClientConfig = cfg
	}
	return hp
}

// h2Handler is the httputil.ReverseProxy for one Target over an h2Proxy.
type h2Handler struct {
	rp *httputil.ReverseProxy
}

func newH2Handler(h *handler, hp *h2Proxy) *h2Handler {
	target := h.target
	flush := h.flushInterval
	if flush < 0 {
		flush = -1
	}
	errLog, _ := zap.NewStdLogAt(h.logger, zap.DebugLevel)
	rp := &httputil.ReverseProxy{
		Transport:     hp.transport,
		FlushInterval: flush,
		ErrorLog:      errLog,
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			out.URL.Scheme = hp.scheme
			out.URL.Host = hp.addr
			if target.PreservePath && target.URL.Path != "" {
				out.URL.Path, out.URL.RawPath = joinURLPath(target.URL, pr.In.URL)
			}
			if target.PassHostHeader {
				out.Host = pr.In.Host
			} else {
				out.Host = h.urlHost
			}
			// ReverseProxy dropped the X-Forwarded-* headers (and any the
			// client named in Connection); the entrypoint's values stand.
			for _, k := range []string{"X-Forwarded-Proto", "X-Forwarded-Host",
				"X-Forwarded-Port", "X-Forwarded-Server", "X-Real-Ip"} {
				if v, ok := pr.In.Header[k]; ok {
					out.Header[k] = v
				}
			}
			prior, ok := pr.In.Header["X-Forwarded-For"]
			if !ok || prior != nil {
				if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
					prior = append(prior[:len(prior):len(prior)], ip)
				}
				if len(prior) > 0 {
					out.Header["X-Forwarded-For"] = []string{strings.Join(prior, ", ")}
				}
			}
			// HTTP/2 has no Upgrade; the x/net transport would reject it.
			delete(out.Header, "Upgrade")
			delete(out.Header, "Connection")
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(h.logger, w, r, h.targetStr, contextError(r.Context(), err))
		},
	}
	return &h2Handler{rp: rp}
}

// joinURLPath joins the server URL's path and the request path the way
// httputil.NewSingleHostReverseProxy does, keeping RawPath consistent.
func joinURLPath(a, b *url.URL) (path, rawpath string) {
	if a.RawPath == "" && b.RawPath == "" {
		return singleJoiningSlash(a.Path, b.Path), ""
	}
	apath, bpath := a.EscapedPath(), b.EscapedPath()
	aslash, bslash := strings.HasSuffix(apath, "/"), strings.HasPrefix(bpath, "/")
	switch {
	case aslash && bslash:
		return a.Path + b.Path[1:], apath + bpath[1:]
	case !aslash && !bslash:
		return a.Path + "/" + b.Path, apath + "/" + bpath
	}
	return a.Path + b.Path, apath + bpath
}

func singleJoiningSlash(a, b string) string {
	aslash, bslash := strings.HasSuffix(a, "/"), strings.HasPrefix(b, "/")
	switch {
	case aslash && bslash:
		return a + b[1:]
	case !aslash && !bslash:
		return a + "/" + b
	}
	return a + b
}
