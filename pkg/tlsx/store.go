package tlsx

import (
	"crypto/ecdsa"
	"crypto/tls"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

// DefaultStore is the only TLS store berth serves from, as in Traefik.
const DefaultStore = "default"

// Store is the certificates of one routing table, indexed by name. It is
// immutable once built and safe for concurrent handshakes.
type Store struct {
	// exact maps a DNS name to the certificates covering it exactly.
	exact map[string][]*entry
	// wildcard maps "example.com" to the certificates for "*.example.com";
	// keying by the parent domain lets a lookup slice the server name
	// instead of building "*."+rest per handshake.
	wildcard map[string][]*entry
	// def is tls.stores.default.defaultCertificate, or nil.
	def   *tls.Certificate
	infos []CertInfo
}

// entry is one loaded certificate with what selection looks at.
type entry struct {
	cert      *tls.Certificate
	notBefore time.Time
	notAfter  time.Time
	ecdsa     bool
}

// CertInfo describes a loaded certificate for the API and metrics.
type CertInfo struct {
	// SANs are the names the certificate is served for: its DNS SANs,
	// or its common name when it has none.
	SANs       []string  `json:"sans"`
	CommonName string    `json:"commonName,omitempty"`
	Serial     string    `json:"serialNumber,omitempty"`
	NotBefore  time.Time `json:"notBefore"`
	NotAfter   time.Time `json:"notAfter"`
	// Source is where the certificate was configured.
	Source string `json:"source,omitempty"`
	// Default is true for the store's default certificate.
	Default bool `json:"default,omitempty"`
}

// emptyStore serves only the generated default certificate.
var emptyStore = &Store{}

// Build loads every certificate of cfg and indexes it by name. A certificate
// that cannot be loaded is reported as a fatal issue and left out; the rest
// are kept. Expired and not-yet-valid certificates are kept with a warning
// (a stale certificate beats none while it is being renewed). Invalid TLS
// options are reported too, so that `berth check` shows them. cfg may be nil.
// The Store is never nil.
func Build(cfg *config.TLS) (*Store, []config.Issue) {
	s := &Store{exact: map[string][]*entry{}, wildcard: map[string][]*entry{}}
	if cfg == nil {
		return s, nil
	}
	var issues []config.Issue
	now := time.Now()
	for _, c := range cfg.Certificates {
		if c == nil {
			continue
		}
		issues = append(issues, s.add(c, now)...)
	}
	issues = append(issues, s.setDefault(cfg.Stores, now)...)
	for _, byName := range [](map[string][]*entry){s.exact, s.wildcard} {
		for _, list := range byName {
			// Latest expiry first, so that selection keeps the first
			// of equally good candidates.
			sort.SliceStable(list, func(i, j int) bool { return list[i].notAfter.After(list[j].notAfter) })
		}
	}
	issues = append(issues, optionIssues(cfg.Options)...)
	return s, issues
}

// add loads one tls.certificates entry into the store.
func (s *Store) add(c *config.CertAndStores, now time.Time) []config.Issue {
	name := describe(c.CertFile)
	issue := func(fatal bool, format string, args ...any) config.Issue {
		return config.Issue{Source: c.Source, Kind: "tls", Msg: name + ": " + fmt.Sprintf(format, args...), Fatal: fatal}
	}
	var issues []config.Issue
	inDefault := len(c.Stores) == 0
	for _, st := range c.Stores {
		if st == DefaultStore {
			inDefault = true
		} else {
			issues = append(issues, issue(false, "store %q is not supported, only %q", st, DefaultStore))
		}
	}
	if !inDefault {
		issues = append(issues, issue(false, "the certificate is not in the %q store and is not served", DefaultStore))
		return issues
	}
	cert, err := loadPair(c.Certificate)
	if err != nil {
		return append(issues, issue(true, "%v", err))
	}
	issues = append(issues, validity(cert, now, issue)...)
	e := newEntry(cert)
	names := certNames(cert)
	if len(names) == 0 {
		issues = append(issues, issue(false, "the certificate has no DNS name and is never served"))
	}
	for _, n := range names {
		if parent, ok := strings.CutPrefix(n, "*."); ok {
			s.wildcard[parent] = append(s.wildcard[parent], e)
		} else if !strings.Contains(n, "*") {
			s.exact[n] = append(s.exact[n], e)
		}
	}
	s.infos = append(s.infos, info(cert, names, c.Source, false))
	return issues
}

// setDefault loads tls.stores.default.defaultCertificate and warns about
// other stores, which Traefik ignores too.
func (s *Store) setDefault(stores map[string]*config.TLSStore, now time.Time) []config.Issue {
	var issues []config.Issue
	for _, name := range slices.Sorted(maps.Keys(stores)) {
		if name != DefaultStore {
			issues = append(issues, config.Issue{Kind: "tls", Object: name, Key: "tls.stores",
				Msg: fmt.Sprintf("store %q is not supported and is ignored, only %q", name, DefaultStore)})
		}
	}
	st := stores[DefaultStore]
	if st == nil || st.DefaultCertificate == nil {
		return issues
	}
	const key = "tls.stores.default.defaultCertificate"
	issue := func(fatal bool, format string, args ...any) config.Issue {
		return config.Issue{Kind: "tls", Key: key,
			Msg: describe(st.DefaultCertificate.CertFile) + ": " + fmt.Sprintf(format, args...), Fatal: fatal}
	}
	cert, err := loadPair(*st.DefaultCertificate)
	if err != nil {
		return append(issues, issue(true, "%v", err))
	}
	issues = append(issues, validity(cert, now, issue)...)
	s.def = cert
	s.infos = append(s.infos, info(cert, certNames(cert), key, true))
	return issues
}

// validity warns about a certificate outside its validity period.
func validity(cert *tls.Certificate, now time.Time, issue func(bool, string, ...any) config.Issue) []config.Issue {
	switch l := cert.Leaf; {
	case now.After(l.NotAfter):
		return []config.Issue{issue(false, "certificate expired on %s", l.NotAfter.UTC().Format(time.DateOnly))}
	case now.Before(l.NotBefore):
		return []config.Issue{issue(false, "certificate is not valid before %s", l.NotBefore.UTC().Format(time.DateOnly))}
	}
	return nil
}

func newEntry(cert *tls.Certificate) *entry {
	_, isECDSA := cert.PrivateKey.(*ecdsa.PrivateKey)
	return &entry{cert: cert, notBefore: cert.Leaf.NotBefore, notAfter: cert.Leaf.NotAfter, ecdsa: isECDSA}
}

// certNames returns the names a certificate is served for: its DNS SANs,
// else its common name (legacy certificates), normalized like SNI.
func certNames(cert *tls.Certificate) []string {
	raw := cert.Leaf.DNSNames
	if len(raw) == 0 && cert.Leaf.Subject.CommonName != "" {
		raw = []string{cert.Leaf.Subject.CommonName}
	}
	names := make([]string, 0, len(raw))
	for _, n := range raw {
		if n = normalize(n); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

func info(cert *tls.Certificate, names []string, source string, isDefault bool) CertInfo {
	return CertInfo{
		SANs:       names,
		CommonName: cert.Leaf.Subject.CommonName,
		Serial:     cert.Leaf.SerialNumber.Text(16),
		NotBefore:  cert.Leaf.NotBefore,
		NotAfter:   cert.Leaf.NotAfter,
		Source:     source,
		Default:    isDefault,
	}
}

// Certificates describes the loaded certificates, the store's default
// certificate last. The generated default certificate is not listed.
func (s *Store) Certificates() []CertInfo {
	out := make([]CertInfo, len(s.infos))
	for i, ci := range s.infos {
		ci.SANs = slices.Clone(ci.SANs)
		out[i] = ci
	}
	return out
}
