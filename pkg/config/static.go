package config

import "time"

// Static is berth's static configuration, in the shape of Traefik's so that
// a Traefik `command:` line, file or TRAEFIK_* environment works unchanged.
// A nil pointer section is off; a section switched on by a flag such as
// `--ping=true` is allocated and given its defaults (SetDefaults).
type Static struct {
	Global                *Global                         `json:"global,omitempty"`
	EntryPoints           map[string]*EntryPoint          `json:"entryPoints,omitempty"`
	Providers             *Providers                      `json:"providers,omitempty"`
	API                   *API                            `json:"api,omitempty"`
	Ping                  *Ping                           `json:"ping,omitempty"`
	Log                   *Log                            `json:"log,omitempty"`
	AccessLog             *AccessLog                      `json:"accessLog,omitempty"`
	Metrics               *Metrics                        `json:"metrics,omitempty"`
	ServersTransport      *ServersTransport               `json:"serversTransport,omitempty"`
	CertificatesResolvers map[string]*CertificateResolver `json:"certificatesResolvers,omitempty"`
}

// Global holds Traefik's global switches; berth accepts and ignores them
// because it never phones home.
type Global struct {
	CheckNewVersion    bool `json:"checkNewVersion,omitempty"`
	SendAnonymousUsage bool `json:"sendAnonymousUsage,omitempty"`
}

// InternalEntryPoint is the entrypoint that serves the API, /ping and
// /metrics unless told otherwise, as in Traefik.
const InternalEntryPoint = "traefik"

// EntryPoint is a listening address and how connections on it are handled.
type EntryPoint struct {
	Address          string               `json:"address,omitempty"`
	AsDefault        bool                 `json:"asDefault,omitempty"`
	Transport        *EntryPointTransport `json:"transport,omitempty"`
	ForwardedHeaders *ForwardedHeaders    `json:"forwardedHeaders,omitempty"`
	HTTP             *EntryPointHTTP      `json:"http,omitempty"`
	HTTP2            *EntryPointHTTP2     `json:"http2,omitempty"`
	ProxyProtocol    *ProxyProtocol       `json:"proxyProtocol,omitempty"`
}

// ProxyProtocol accepts the PROXY protocol (v1 and v2) from the load
// balancers in TrustedIPs, or from anyone with Insecure, so that the
// client's address survives a TCP load balancer in front of berth.
type ProxyProtocol struct {
	Insecure   bool     `json:"insecure,omitempty"`
	TrustedIPs []string `json:"trustedIPs,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (e *EntryPoint) SetDefaults() {
	e.Transport = &EntryPointTransport{}
	e.Transport.SetDefaults()
	e.ForwardedHeaders = &ForwardedHeaders{}
	e.HTTP = &EntryPointHTTP{}
	e.HTTP.SetDefaults()
	e.HTTP2 = &EntryPointHTTP2{MaxConcurrentStreams: 250}
}

// EntryPointTransport holds an entrypoint's timeouts and lifecycle.
type EntryPointTransport struct {
	LifeCycle            *LifeCycle          `json:"lifeCycle,omitempty"`
	RespondingTimeouts   *RespondingTimeouts `json:"respondingTimeouts,omitempty"`
	KeepAliveMaxRequests int                 `json:"keepAliveMaxRequests,omitempty"`
	KeepAliveMaxTime     Duration            `json:"keepAliveMaxTime,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (t *EntryPointTransport) SetDefaults() {
	t.LifeCycle = &LifeCycle{GraceTimeOut: Duration(10 * time.Second)}
	t.RespondingTimeouts = &RespondingTimeouts{}
	t.RespondingTimeouts.SetDefaults()
}

// LifeCycle says how an entrypoint shuts down.
type LifeCycle struct {
	RequestAcceptGraceTimeout Duration `json:"requestAcceptGraceTimeout,omitempty"`
	GraceTimeOut              Duration `json:"graceTimeOut,omitempty"`
}

// RespondingTimeouts bound how long a client may take.
type RespondingTimeouts struct {
	// ReadTimeout bounds reading the whole request, body included.
	ReadTimeout Duration `json:"readTimeout,omitempty"`
	// ReadHeaderTimeout bounds reading the request line and headers
	// (berth's addition; Traefik has only ReadTimeout).
	ReadHeaderTimeout Duration `json:"readHeaderTimeout,omitempty"`
	WriteTimeout      Duration `json:"writeTimeout,omitempty"`
	IdleTimeout       Duration `json:"idleTimeout,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (r *RespondingTimeouts) SetDefaults() {
	r.ReadTimeout = Duration(60 * time.Second)
	r.ReadHeaderTimeout = Duration(10 * time.Second)
	r.IdleTimeout = Duration(180 * time.Second)
}

// ForwardedHeaders says whose X-Forwarded-* headers are trusted.
type ForwardedHeaders struct {
	Insecure   bool     `json:"insecure,omitempty"`
	TrustedIPs []string `json:"trustedIPs,omitempty"`
}

// EntryPointHTTP holds HTTP options applied to every router of an entrypoint.
type EntryPointHTTP struct {
	Redirections   *Redirections `json:"redirections,omitempty"`
	Middlewares    []string      `json:"middlewares,omitempty"`
	TLS            *RouterTLS    `json:"tls,omitempty"`
	MaxHeaderBytes int           `json:"maxHeaderBytes,omitempty"`
	// SanitizePath removes "." and ".." segments and repeated slashes from
	// request paths before routing, as Traefik does (default true), so that
	// "/public/../admin" cannot reach the admin backend through the public
	// router.
	SanitizePath bool `json:"sanitizePath,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (h *EntryPointHTTP) SetDefaults() { h.SanitizePath = true }

// Redirections redirects every request of an entrypoint to another.
type Redirections struct {
	EntryPoint *RedirectEntryPoint `json:"entryPoint,omitempty"`
}

// RedirectEntryPoint is the target of an entrypoint redirection.
type RedirectEntryPoint struct {
	To        string `json:"to,omitempty"`
	Scheme    string `json:"scheme,omitempty"`
	Permanent bool   `json:"permanent,omitempty"`
	Priority  int    `json:"priority,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (r *RedirectEntryPoint) SetDefaults() {
	r.Scheme = "https"
	r.Permanent = true
	r.Priority = 2147483646
}

// EntryPointHTTP2 tunes HTTP/2 on an entrypoint.
type EntryPointHTTP2 struct {
	MaxConcurrentStreams int `json:"maxConcurrentStreams,omitempty"`
}

// Providers lists the configuration providers that are on.
type Providers struct {
	ProvidersThrottleDuration Duration        `json:"providersThrottleDuration,omitempty"`
	File                      *FileProvider   `json:"file,omitempty"`
	Docker                    *DockerProvider `json:"docker,omitempty"`
}

// FileProvider reads dynamic configuration from a file or a directory.
type FileProvider struct {
	Directory                 string `json:"directory,omitempty"`
	Filename                  string `json:"filename,omitempty"`
	Watch                     bool   `json:"watch,omitempty"`
	DebugLogGeneratedTemplate bool   `json:"debugLogGeneratedTemplate,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (f *FileProvider) SetDefaults() { f.Watch = true }

// DockerProvider reads dynamic configuration from container labels.
type DockerProvider struct {
	Endpoint           string     `json:"endpoint,omitempty"`
	DefaultRule        string     `json:"defaultRule,omitempty"`
	ExposedByDefault   bool       `json:"exposedByDefault,omitempty"`
	Network            string     `json:"network,omitempty"`
	Constraints        string     `json:"constraints,omitempty"`
	Watch              bool       `json:"watch,omitempty"`
	UseBindPortIP      bool       `json:"useBindPortIP,omitempty"`
	AllowEmptyServices bool       `json:"allowEmptyServices,omitempty"`
	HTTPClientTimeout  Duration   `json:"httpClientTimeout,omitempty"`
	Username           string     `json:"username,omitempty"`
	Password           string     `json:"password,omitempty"`
	TLS                *ClientTLS `json:"tls,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (d *DockerProvider) SetDefaults() {
	d.Endpoint = "unix:///var/run/docker.sock"
	d.DefaultRule = "Host(`{{ normalize .Name }}`)"
	d.ExposedByDefault = true
	d.Watch = true
}

// ClientTLS is a TLS client configuration (CA, certificate, key).
type ClientTLS struct {
	CA                 string `json:"ca,omitempty"`
	Cert               string `json:"cert,omitempty"`
	Key                string `json:"key,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
}

// API turns on the API and dashboard.
type API struct {
	Insecure  bool   `json:"insecure,omitempty"`
	Dashboard bool   `json:"dashboard,omitempty"`
	Debug     bool   `json:"debug,omitempty"`
	BasePath  string `json:"basePath,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (a *API) SetDefaults() { a.Dashboard = true; a.BasePath = "/" }

// Ping turns on /ping.
type Ping struct {
	EntryPoint            string `json:"entryPoint,omitempty"`
	ManualRouting         bool   `json:"manualRouting,omitempty"`
	TerminatingStatusCode int    `json:"terminatingStatusCode,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (p *Ping) SetDefaults() { p.EntryPoint = InternalEntryPoint; p.TerminatingStatusCode = 503 }

// Log configures berth's own log.
type Log struct {
	Level    string `json:"level,omitempty"`
	Format   string `json:"format,omitempty"`
	FilePath string `json:"filePath,omitempty"`
	NoColor  bool   `json:"noColor,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (l *Log) SetDefaults() { l.Level = "ERROR"; l.Format = "common" }

// AccessLog configures the access log.
type AccessLog struct {
	FilePath      string            `json:"filePath,omitempty"`
	Format        string            `json:"format,omitempty"`
	BufferingSize int64             `json:"bufferingSize,omitempty"`
	Filters       *AccessLogFilters `json:"filters,omitempty"`
	Fields        *AccessLogFields  `json:"fields,omitempty"`
	AddInternals  bool              `json:"addInternals,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (a *AccessLog) SetDefaults() { a.Format = "common" }

// AccessLogFilters keeps only some requests in the access log.
type AccessLogFilters struct {
	StatusCodes   []string `json:"statusCodes,omitempty"`
	RetryAttempts bool     `json:"retryAttempts,omitempty"`
	MinDuration   Duration `json:"minDuration,omitempty"`
}

// AccessLogFields says which fields and headers are kept, dropped or redacted.
type AccessLogFields struct {
	DefaultMode string            `json:"defaultMode,omitempty"`
	Names       map[string]string `json:"names,omitempty"`
	Headers     *FieldHeaders     `json:"headers,omitempty"`
}

// FieldHeaders says which request headers the access log keeps.
type FieldHeaders struct {
	DefaultMode string            `json:"defaultMode,omitempty"`
	Names       map[string]string `json:"names,omitempty"`
}

// Metrics configures metrics exposition.
type Metrics struct {
	AddInternals bool        `json:"addInternals,omitempty"`
	Prometheus   *Prometheus `json:"prometheus,omitempty"`
}

// Prometheus configures the Prometheus exposition.
type Prometheus struct {
	Buckets              []float64         `json:"buckets,omitempty"`
	AddEntryPointsLabels bool              `json:"addEntryPointsLabels,omitempty"`
	AddRoutersLabels     bool              `json:"addRoutersLabels,omitempty"`
	AddServicesLabels    bool              `json:"addServicesLabels,omitempty"`
	EntryPoint           string            `json:"entryPoint,omitempty"`
	ManualRouting        bool              `json:"manualRouting,omitempty"`
	HeaderLabels         map[string]string `json:"headerLabels,omitempty"`
	// Namespace prefixes every metric name (berth's addition; set it to
	// "traefik" to keep Traefik dashboards working).
	Namespace string `json:"namespace,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (p *Prometheus) SetDefaults() {
	p.Buckets = []float64{0.1, 0.3, 1.2, 5.0}
	p.AddEntryPointsLabels = true
	p.AddServicesLabels = true
	p.EntryPoint = InternalEntryPoint
	p.Namespace = "berth"
}

// CertificateResolver obtains certificates; only ACME exists.
type CertificateResolver struct {
	ACME *ACME `json:"acme,omitempty"`
}

// ACME is an ACME certificate resolver in Traefik's shape.
type ACME struct {
	Email          string         `json:"email,omitempty"`
	CAServer       string         `json:"caServer,omitempty"`
	Storage        string         `json:"storage,omitempty"`
	KeyType        string         `json:"keyType,omitempty"`
	CACertificates []string       `json:"caCertificates,omitempty"`
	Profile        string         `json:"profile,omitempty"`
	EAB            *EAB           `json:"eab,omitempty"`
	HTTPChallenge  *HTTPChallenge `json:"httpChallenge,omitempty"`
	TLSChallenge   *TLSChallenge  `json:"tlsChallenge,omitempty"`
	// OnDemand obtains a certificate at the first handshake for a name no
	// router asks for (berth's addition, after Caddy's on-demand TLS).
	OnDemand *OnDemand `json:"onDemand,omitempty"`
}

// OnDemand is on-demand TLS: a certificate is obtained during the first
// handshake for an unknown server name, if the Ask URL allows that name.
type OnDemand struct {
	// Ask is a URL that berth queries with ?domain=NAME; only a 200
	// answer allows a certificate for NAME. It is required, so that
	// anyone pointing a name at berth cannot make it order certificates.
	Ask string `json:"ask,omitempty"`
	// RateLimit is the number of on-demand orders allowed per minute
	// (0: 10).
	RateLimit int `json:"rateLimit,omitempty"`
}

// SetDefaults fills the defaults Traefik documents.
func (a *ACME) SetDefaults() {
	a.CAServer = "https://acme-v02.api.letsencrypt.org/directory"
	a.Storage = "acme.json"
	a.KeyType = "EC256"
}

// EAB is ACME external account binding.
type EAB struct {
	Kid         string `json:"kid,omitempty"`
	HmacEncoded string `json:"hmacEncoded,omitempty"`
}

// HTTPChallenge names the entrypoint that answers HTTP-01.
type HTTPChallenge struct {
	EntryPoint string `json:"entryPoint,omitempty"`
}

// TLSChallenge turns on TLS-ALPN-01.
type TLSChallenge struct{}
