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
	// Weighted, Mirroring and Failover are Traefik's composite services:
	// they send requests to other services rather than to servers. A
	// service sets exactly one of LoadBalancer, Weighted, Mirroring and
	// Failover.
	Weighted  *WeightedService  `json:"weighted,omitempty"`
	Mirroring *MirroringService `json:"mirroring,omitempty"`
	Failover  *FailoverService  `json:"failover,omitempty"`
	Source    string            `json:"-" decode:"source"`
}

// WeightedService splits requests between services by weight (canary
// releases, blue/green), optionally pinning clients with a cookie.
type WeightedService struct {
	Services    []WeightedRef `json:"services,omitempty"`
	Sticky      *Sticky       `json:"sticky,omitempty"`
	HealthCheck *struct{}     `json:"healthCheck,omitempty"`
}

// WeightedRef is one service of a weighted service and its share.
type WeightedRef struct {
	Name   string `json:"name,omitempty"`
	Weight *int   `json:"weight,omitempty"`
}

// MirroringService sends every request to Service and a copy of a share of
// them to each mirror; the mirrors' responses are discarded.
type MirroringService struct {
	Service string      `json:"service,omitempty"`
	Mirrors []MirrorRef `json:"mirrors,omitempty"`
	// MaxBodySize bounds the request body that is buffered to be copied to
	// the mirrors; a request with a larger body is not mirrored. Unset
	// means 1 MiB (Traefik's default is unbounded, -1, which berth also
	// accepts).
	MaxBodySize *int64 `json:"maxBodySize,omitempty"`
	// MirrorBody sends the request body to the mirrors (default true);
	// false mirrors the request without its body and buffers nothing.
	MirrorBody  *bool     `json:"mirrorBody,omitempty"`
	HealthCheck *struct{} `json:"healthCheck,omitempty"`
}

// MirrorRef is one mirror and the percentage of requests it gets.
type MirrorRef struct {
	Name    string `json:"name,omitempty"`
	Percent int    `json:"percent,omitempty"`
}

// FailoverService sends requests to Service while it has a healthy server,
// and to Fallback otherwise. berth also fails over, for idempotent
// requests, when Service answers with one of StatusCodes.
type FailoverService struct {
	Service     string    `json:"service,omitempty"`
	Fallback    string    `json:"fallback,omitempty"`
	StatusCodes []string  `json:"statusCodes,omitempty"`
	HealthCheck *struct{} `json:"healthCheck,omitempty"`
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
	// Hash configures the "hash" strategy.
	Hash *HashOptions `json:"hash,omitempty"`
	// PassiveHealthCheck ejects a server that fails too often (nginx's
	// max_fails/fail_timeout, Traefik's passiveHealthCheck).
	PassiveHealthCheck *PassiveHealthCheck `json:"passiveHealthCheck,omitempty"`
	// QueueTimeout is how long a request waits for a server when every
	// server is at its maxConns, before a 503 (default 100ms).
	QueueTimeout Duration `json:"queueTimeout,omitempty"`
}

// HashOptions configures consistent hashing.
type HashOptions struct {
	// Key is what is hashed: "clientip", "uri", "header:<Name>",
	// "cookie:<name>" or "query:<param>".
	Key string `json:"key,omitempty"`
	// BoundedLoad, when above 1, caps every server at BoundedLoad times
	// the average number of requests in flight (consistent hashing with
	// bounded loads); a key whose server is full goes to the next server
	// on the ring. 0 turns the bound off.
	BoundedLoad float64 `json:"boundedLoad,omitempty"`
}

// PassiveHealthCheck ejects a server after MaxFails failures (connection
// errors and 5xx answers) within FailTimeout, for FailTimeout. Traefik's
// names, MaxFailedAttempts and FailureWindow, are accepted as aliases.
type PassiveHealthCheck struct {
	MaxFails          int      `json:"maxFails,omitempty"`
	FailTimeout       Duration `json:"failTimeout,omitempty"`
	MaxFailedAttempts int      `json:"maxFailedAttempts,omitempty"`
	FailureWindow     Duration `json:"failureWindow,omitempty"`
}

// Server is one backend address.
type Server struct {
	URL          string `json:"url,omitempty"`
	Weight       *int   `json:"weight,omitempty"`
	PreservePath bool   `json:"preservePath,omitempty"`
	// MaxConns caps the requests in flight to this server; 0 is no cap.
	MaxConns int `json:"maxConns,omitempty"`
	// Backup servers take requests only when every other server is down.
	Backup bool `json:"backup,omitempty"`
	// SlowStart ramps the server's weight up linearly over this long after
	// it joins the service or recovers.
	SlowStart Duration `json:"slowStart,omitempty"`
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
	// Rise is how many checks in a row must pass to bring a down server up;
	// Fall how many must fail to take an up server down (HAProxy's names).
	// Both default to 1, Traefik's behaviour of flipping on one result.
	Rise int `json:"rise,omitempty"`
	Fall int `json:"fall,omitempty"`
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
