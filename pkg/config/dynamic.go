package config

// Snapshot is everything one provider knows, sent whole every time (never a
// delta). Names inside Config are the provider's own, unqualified names; the
// watcher qualifies them as name@provider when it merges snapshots.
type Snapshot struct {
	// Provider names the provider ("file", "docker").
	Provider string
	// Config is the provider's dynamic configuration; nil means empty.
	Config *Dynamic
	// Issues are the problems the provider found while decoding. Objects
	// that could not be decoded at all are left out of Config; objects that
	// decoded but are wrong are kept and disabled later by routing.Build.
	Issues []Issue
}

// Dynamic is the dynamic configuration in Traefik's dynamic-file shape.
type Dynamic struct {
	HTTP *HTTP `json:"http,omitempty"`
	TLS  *TLS  `json:"tls,omitempty"`
}

// HTTP is the `http` section of the dynamic configuration.
type HTTP struct {
	Routers           map[string]*Router           `json:"routers,omitempty"`
	Services          map[string]*Service          `json:"services,omitempty"`
	Middlewares       map[string]*Middleware       `json:"middlewares,omitempty"`
	ServersTransports map[string]*ServersTransport `json:"serversTransports,omitempty"`
}

// Router matches requests by Rule on its EntryPoints and sends them through
// Middlewares to Service.
type Router struct {
	EntryPoints []string   `json:"entryPoints,omitempty"`
	Middlewares []string   `json:"middlewares,omitempty"`
	Service     string     `json:"service,omitempty"`
	Rule        string     `json:"rule,omitempty"`
	RuleSyntax  string     `json:"ruleSyntax,omitempty"`
	Priority    int        `json:"priority,omitempty"`
	TLS         *RouterTLS `json:"tls,omitempty"`
	// Source is where the router was defined ("dynamic.yml:12:5"); the
	// decoder fills it.
	Source string `json:"-" decode:"source"`
	// KeySources maps each key written (by its canonical name, "rule")
	// to where it was written, so errors can point at the key itself.
	KeySources map[string]string `json:"-" decode:"keys"`
}

// SourceOf returns where key was written, or where the router was.
func (r *Router) SourceOf(key string) string {
	if p, ok := r.KeySources[key]; ok {
		return p
	}
	return r.Source
}

// RouterTLS turns TLS on for a router and optionally names how to get its
// certificate.
type RouterTLS struct {
	Options      string   `json:"options,omitempty"`
	CertResolver string   `json:"certResolver,omitempty"`
	Domains      []Domain `json:"domains,omitempty"`
}

// Domain is a certificate's main name and its subject alternative names.
type Domain struct {
	Main string   `json:"main,omitempty"`
	SANs []string `json:"sans,omitempty"`
}

// Service says where a router's requests go.
type Service struct {
	LoadBalancer *LoadBalancer `json:"loadBalancer,omitempty"`
	Source       string        `json:"-" decode:"source"`
}

// LoadBalancer balances requests over Servers.
type LoadBalancer struct {
	Servers []Server `json:"servers,omitempty"`
	// Strategy picks the balancing algorithm; "wrr" (the default) today.
	Strategy string `json:"strategy,omitempty"`
	// PassHostHeader forwards the client's Host header (default true).
	PassHostHeader     *bool               `json:"passHostHeader,omitempty"`
	ResponseForwarding *ResponseForwarding `json:"responseForwarding,omitempty"`
	ServersTransport   string              `json:"serversTransport,omitempty"`
	Sticky             *Sticky             `json:"sticky,omitempty"`
	HealthCheck        *HealthCheck        `json:"healthCheck,omitempty"`
}

// Server is one backend address.
type Server struct {
	URL          string `json:"url,omitempty"`
	Weight       *int   `json:"weight,omitempty"`
	PreservePath bool   `json:"preservePath,omitempty"`
}

// ResponseForwarding tunes how responses are streamed back.
type ResponseForwarding struct {
	// FlushInterval is how often buffered response data is flushed; a
	// negative value flushes after every write. Streams (SSE, unknown
	// length) are always flushed as soon as data arrives.
	FlushInterval Duration `json:"flushInterval,omitempty"`
}

// Sticky pins a client to a server with a cookie.
type Sticky struct {
	Cookie *StickyCookie `json:"cookie,omitempty"`
}

// StickyCookie describes the sticky-session cookie (Traefik's options).
type StickyCookie struct {
	Name     string `json:"name,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
	HTTPOnly bool   `json:"httpOnly,omitempty"`
	SameSite string `json:"sameSite,omitempty"`
	MaxAge   int    `json:"maxAge,omitempty"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
}

// HealthCheck is an active health check of every server of a service.
type HealthCheck struct {
	Scheme          string            `json:"scheme,omitempty"`
	Mode            string            `json:"mode,omitempty"`
	Path            string            `json:"path,omitempty"`
	Method          string            `json:"method,omitempty"`
	Status          int               `json:"status,omitempty"`
	Port            int               `json:"port,omitempty"`
	Interval        Duration          `json:"interval,omitempty"`
	Timeout         Duration          `json:"timeout,omitempty"`
	Hostname        string            `json:"hostname,omitempty"`
	FollowRedirects *bool             `json:"followRedirects,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
}

// ServersTransport configures how berth connects to servers.
type ServersTransport struct {
	ServerName          string              `json:"serverName,omitempty"`
	InsecureSkipVerify  bool                `json:"insecureSkipVerify,omitempty"`
	RootCAs             []string            `json:"rootCAs,omitempty"`
	MaxIdleConnsPerHost int                 `json:"maxIdleConnsPerHost,omitempty"`
	ForwardingTimeouts  *ForwardingTimeouts `json:"forwardingTimeouts,omitempty"`
	Source              string              `json:"-" decode:"source"`
}

// ForwardingTimeouts bound the phases of a request to a server.
type ForwardingTimeouts struct {
	DialTimeout           Duration `json:"dialTimeout,omitempty"`
	ResponseHeaderTimeout Duration `json:"responseHeaderTimeout,omitempty"`
	IdleConnTimeout       Duration `json:"idleConnTimeout,omitempty"`
}

// Middleware is one named middleware: its type ("stripPrefix") and the
// typed options that the middleware's factory decoded (a middleware.Spec).
type Middleware struct {
	Type   string `json:"type"`
	Spec   any    `json:"spec,omitempty"`
	Source string `json:"-" decode:"source"`
}

// TLS is the `tls` section of the dynamic configuration.
type TLS struct {
	Certificates []*CertAndStores      `json:"certificates,omitempty"`
	Options      map[string]*TLSOption `json:"options,omitempty"`
	Stores       map[string]*TLSStore  `json:"stores,omitempty"`
}

// Certificate is a certificate and its key, each a file path or inline PEM.
type Certificate struct {
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
}

// CertAndStores is a certificate and the stores it goes into.
type CertAndStores struct {
	Certificate
	Stores []string `json:"stores,omitempty"`
	Source string   `json:"-" decode:"source"`
}

// TLSOption tunes TLS handshakes for routers that name it.
type TLSOption struct {
	MinVersion    string   `json:"minVersion,omitempty"`
	MaxVersion    string   `json:"maxVersion,omitempty"`
	CipherSuites  []string `json:"cipherSuites,omitempty"`
	SniStrict     bool     `json:"sniStrict,omitempty"`
	ALPNProtocols []string `json:"alpnProtocols,omitempty"`
	Source        string   `json:"-" decode:"source"`
}

// TLSStore holds the default certificate.
type TLSStore struct {
	DefaultCertificate *Certificate `json:"defaultCertificate,omitempty"`
}
