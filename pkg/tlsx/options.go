package tlsx

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
)

// versions are the TLS version names of Traefik's configuration.
var versions = map[string]uint16{
	"VersionTLS10": tls.VersionTLS10,
	"VersionTLS11": tls.VersionTLS11,
	"VersionTLS12": tls.VersionTLS12,
	"VersionTLS13": tls.VersionTLS13,
}

// cipherSuites maps Go's cipher suite names, secure and insecure, to their
// IDs, as Traefik accepts them. TLS 1.3 suites are accepted but have no
// effect: Go does not make them configurable.
var cipherSuites = func() map[string]uint16 {
	m := map[string]uint16{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		m[cs.Name] = cs.ID
	}
	return m
}()

// defaultCipherSuites are the TLS 1.2 suites served when an option names
// none: forward-secret AEADs only, no CBC (Lucky13-style padding oracles)
// and no static RSA key exchange.
var defaultCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// defaultALPN offers HTTP/2 first, then HTTP/1.1.
var defaultALPN = []string{"h2", "http/1.1"}

// settings are the parsed values of a config.TLSOption.
type settings struct {
	minVersion, maxVersion uint16
	cipherSuites           []uint16
	alpn                   []string
	sniStrict              bool
}

// problem is one invalid value of an option.
type problem struct {
	key, value, msg string
}

func (p problem) String() string {
	if p.value == "" {
		return p.key + ": " + p.msg
	}
	return fmt.Sprintf("%s %q: %s", p.key, p.value, p.msg)
}

// parseOption turns an option into settings, with defaults for what it
// leaves out, and lists every invalid value.
func parseOption(o *config.TLSOption) (settings, []problem) {
	s := settings{minVersion: tls.VersionTLS12, cipherSuites: defaultCipherSuites, alpn: defaultALPN}
	if o == nil {
		return s, nil
	}
	var probs []problem
	version := func(key, v string, dst *uint16) {
		if v == "" {
			return
		}
		if id, ok := versions[v]; ok {
			*dst = id
			return
		}
		probs = append(probs, problem{key, v, "unknown TLS version; valid: " + validNames(versions)})
	}
	version("minVersion", o.MinVersion, &s.minVersion)
	version("maxVersion", o.MaxVersion, &s.maxVersion)
	if s.maxVersion != 0 && s.maxVersion < s.minVersion {
		probs = append(probs, problem{"maxVersion", o.MaxVersion, "is below minVersion " + versionName(s.minVersion)})
	}
	s.sniStrict = o.SniStrict
	if len(o.CipherSuites) > 0 {
		s.cipherSuites = make([]uint16, 0, len(o.CipherSuites))
		for _, name := range o.CipherSuites {
			id, ok := cipherSuites[name]
			if !ok {
				probs = append(probs, problem{"cipherSuites", name, "unknown cipher suite; valid: " + validNames(cipherSuites)})
				continue
			}
			s.cipherSuites = append(s.cipherSuites, id)
		}
	}
	if len(o.ALPNProtocols) > 0 {
		for _, p := range o.ALPNProtocols {
			// RFC 7301: protocol names are 1 to 255 bytes.
			if p == "" || len(p) > 255 {
				probs = append(probs, problem{"alpnProtocols", p, "a protocol name must be 1 to 255 bytes long"})
			}
		}
		s.alpn = slices.Clone(o.ALPNProtocols)
	}
	return s, probs
}

// ValidateOption reports every invalid value of o, listing the valid ones.
func ValidateOption(o *config.TLSOption) error {
	_, probs := parseOption(o)
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = errors.New(p.String())
	}
	return errors.Join(errs...)
}

// optionIssues validates tls.options for Build.
func optionIssues(options map[string]*config.TLSOption) []config.Issue {
	var issues []config.Issue
	for _, name := range slices.Sorted(maps.Keys(options)) {
		o := options[name]
		if o == nil {
			continue
		}
		_, probs := parseOption(o)
		for _, p := range probs {
			issues = append(issues, config.Issue{Source: o.Source, Kind: "tls", Object: name,
				Key: p.key, Value: p.value, Msg: p.msg, Fatal: true})
		}
	}
	return issues
}

func validNames(m map[string]uint16) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

func versionName(v uint16) string {
	for name, id := range versions {
		if id == v {
			return name
		}
	}
	return fmt.Sprintf("0x%04x", v)
}
