package staticconf

import (
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
)

var (
	logLevels        = []string{"TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "PANIC"}
	logFormats       = []string{"common", "json"}
	accessLogFormats = []string{"common", "genericCLF", "json"}
)

// validate checks what decoding cannot: values that must parse, and names
// that must refer to something defined.
func (l *loader) validate() {
	c := l.cfg
	for _, name := range sortedKeys(c.EntryPoints) {
		l.validateEntryPoint(name, c.EntryPoints[name])
	}
	if c.Log != nil {
		l.oneOf("log.level", c.Log.Level, logLevels)
		l.oneOf("log.format", c.Log.Format, logFormats)
	}
	if c.AccessLog != nil {
		l.oneOf("accessLog.format", c.AccessLog.Format, accessLogFormats)
	}
	if c.Providers != nil && c.Providers.File != nil {
		// The file provider needs exactly one of the two; saying so here
		// makes `berth check` catch it instead of the provider failing
		// (and being restarted) at run time.
		f := c.Providers.File
		switch {
		case f.Filename == "" && f.Directory == "":
			l.fatal("providers.file", "", "set providers.file.filename or providers.file.directory")
		case f.Filename != "" && f.Directory != "":
			l.fatal("providers.file.directory", f.Directory, "set providers.file.filename or providers.file.directory, not both")
		}
	}
	if c.API != nil && c.API.BasePath != "" {
		if b := c.API.BasePath; !strings.HasPrefix(b, "/") || strings.ContainsAny(b, "?#`\"") || strings.Contains(b, "//") {
			l.fatal("api.basePath", b, "want a URL path such as \"/traefik\"")
		}
	}
	if c.Ping != nil && !c.Ping.ManualRouting {
		l.entryPointRef("ping.entryPoint", c.Ping.EntryPoint)
	}
	if c.Metrics != nil && c.Metrics.Prometheus != nil && !c.Metrics.Prometheus.ManualRouting {
		l.entryPointRef("metrics.prometheus.entryPoint", c.Metrics.Prometheus.EntryPoint)
	}
	for _, name := range sortedKeys(c.CertificatesResolvers) {
		r := c.CertificatesResolvers[name]
		if r == nil || r.ACME == nil {
			l.fatal("certificatesResolvers."+name, "", "the resolver defines no acme section")
			continue
		}
		if h := r.ACME.HTTPChallenge; h != nil {
			l.entryPointRef("certificatesResolvers."+name+".acme.httpChallenge.entryPoint", h.EntryPoint)
		}
	}
}

func (l *loader) validateEntryPoint(name string, ep *config.EntryPoint) {
	p := "entryPoints." + name
	if ep == nil {
		l.fatal(p, "", "entrypoint %q has no address", name)
		return
	}
	if msg := checkAddress(ep.Address); msg != "" {
		l.fatal(p+".address", ep.Address, "%s", msg)
	}
	if fh := ep.ForwardedHeaders; fh != nil {
		l.ipRanges(p+".forwardedHeaders.trustedIPs", fh.TrustedIPs)
	}
	if pp := ep.ProxyProtocol; pp != nil {
		l.ipRanges(p+".proxyProtocol.trustedIPs", pp.TrustedIPs)
		if !pp.Insecure && len(pp.TrustedIPs) == 0 {
			l.fatal(p+".proxyProtocol", "", "set proxyProtocol.trustedIPs to the addresses of the load balancers that send the PROXY header (or insecure=true to trust anyone)")
		}
	}
	if ep.HTTP == nil {
		return
	}
	if r := ep.HTTP.Redirections; r != nil && r.EntryPoint != nil {
		rp := p + ".http.redirections.entryPoint"
		to := r.EntryPoint.To
		switch {
		case to == "":
			l.fatal(rp+".to", "", "a redirection needs a target entrypoint (such as websecure) or port (such as :443)")
		case strings.HasPrefix(to, ":"):
			if n, err := strconv.Atoi(to[1:]); err != nil || n < 1 || n > 65535 {
				l.fatal(rp+".to", to, "not a port; want a port such as \":443\" or an entrypoint name")
			}
		default:
			l.entryPointRef(rp+".to", to)
		}
		if s := r.EntryPoint.Scheme; s != "http" && s != "https" {
			l.fatal(rp+".scheme", s, "want http or https")
		}
	}
	if t := ep.HTTP.TLS; t != nil && t.CertResolver != "" {
		if _, ok := l.cfg.CertificatesResolvers[t.CertResolver]; !ok {
			l.fatal(p+".http.tls.certResolver", t.CertResolver, "no certificate resolver named %q%s", t.CertResolver, defined(sortedKeys(l.cfg.CertificatesResolvers)))
		}
	}
}

// checkAddress validates an entrypoint address: "host:port" or ":port",
// optionally followed by "/tcp". It returns what is wrong, or "".
func checkAddress(addr string) string {
	if addr == "" {
		return "an entrypoint needs an address such as \":80\""
	}
	hostPort, proto, hasProto := strings.Cut(addr, "/")
	if hasProto && !strings.EqualFold(proto, "tcp") {
		if strings.EqualFold(proto, "udp") {
			return "UDP entrypoints are not supported; berth serves HTTP over TCP"
		}
		return "unknown protocol \"/" + proto + "\"; want \"/tcp\" or nothing"
	}
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "not an address: want \"host:port\" or \":port\", such as \":80\""
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "invalid port \"" + port + "\": want a number between 0 and 65535"
	}
	return ""
}

func validIPOrCIDR(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// entryPointRef checks that the setting at path names a defined entrypoint.
// ipRanges checks a list of IP addresses and CIDR ranges.
func (l *loader) ipRanges(path string, list []string) {
	for i, ip := range list {
		if !validIPOrCIDR(ip) {
			l.fatal(path+"["+strconv.Itoa(i)+"]", ip, "not an IP address or CIDR range (such as 10.0.0.0/8)")
		}
	}
}

func (l *loader) entryPointRef(path, name string) {
	if name == "" {
		l.fatal(path, "", "an entrypoint name is required%s", defined(sortedKeys(l.cfg.EntryPoints)))
		return
	}
	if _, ok := l.cfg.EntryPoints[name]; !ok {
		l.fatal(path, name, "no entrypoint named %q%s", name, defined(sortedKeys(l.cfg.EntryPoints)))
	}
}

// oneOf checks that the setting at path is one of valid, ignoring case.
func (l *loader) oneOf(path, value string, valid []string) {
	for _, v := range valid {
		if strings.EqualFold(v, value) {
			return
		}
	}
	l.fatal(path, value, "want one of %s", strings.Join(valid, ", "))
}

// defined lists the names that exist, for an error about one that does not.
func defined(names []string) string {
	if len(names) == 0 {
		return " (none are defined)"
	}
	return " (defined: " + strings.Join(names, ", ") + ")"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
