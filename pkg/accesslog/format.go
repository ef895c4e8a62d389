package accesslog

import (
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berthproxy/berth/pkg/reqinfo"
)

// Field indices, in the alphabetical order Traefik's JSON lines use.
const (
	fClientAddr = iota
	fClientHost
	fClientPort
	fClientUsername
	fDownstreamContentSize
	fDownstreamStatus
	fDuration
	fOriginContentSize
	fOriginDuration
	fOriginStatus
	fOverhead
	fRequestAddr
	fRequestContentSize
	fRequestCount
	fRequestHost
	fRequestID
	fRequestMethod
	fRequestPath
	fRequestPort
	fRequestProtocol
	fRequestScheme
	fRetryAttempts
	fRouterName
	fServiceAddr
	fServiceName
	fServiceURL
	fStartLocal
	fStartUTC
	fTLSCipher
	fTLSVersion
	fEntryPointName
	numFields
)

// fieldNames are the JSON keys, Traefik's except RequestID (berth's).
// Traefik spells the entrypoint field entryPointName.
var fieldNames = [numFields]string{
	"ClientAddr", "ClientHost", "ClientPort", "ClientUsername",
	"DownstreamContentSize", "DownstreamStatus", "Duration",
	"OriginContentSize", "OriginDuration", "OriginStatus", "Overhead",
	"RequestAddr", "RequestContentSize", "RequestCount", "RequestHost", "RequestID",
	"RequestMethod", "RequestPath", "RequestPort", "RequestProtocol", "RequestScheme",
	"RetryAttempts", "RouterName", "ServiceAddr", "ServiceName", "ServiceURL",
	"StartLocal", "StartUTC", "TLSCipher", "TLSVersion", "entryPointName",
}

func fieldIndex(name string) (int, bool) {
	for i, n := range fieldNames {
		if strings.EqualFold(n, name) {
			return i, true
		}
	}
	return 0, false
}

// entry formats one request.
type entry struct {
	l    *Logger
	r    *http.Request
	rec  *reqinfo.Record
	resp http.Header
	d    time.Duration
	n    uint64
}

func (e *entry) status() int {
	if e.rec.Status == 0 {
		return http.StatusOK
	}
	return e.rec.Status
}

func splitHostPort(hp string) (host, port string) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, ""
	}
	return h, p
}

func (e *entry) username() string {
	if u, _, ok := e.r.BasicAuth(); ok && u != "" {
		return u
	}
	return ""
}

func (e *entry) path() string {
	if e.r.RequestURI != "" {
		return e.r.RequestURI
	}
	return e.r.URL.RequestURI()
}

// appendJSON writes the JSON line: Traefik's keys, then request_<Header>
// and downstream_<Header>, then level, msg and time.
func (e *entry) appendJSON(b []byte) []byte {
	r, rec, l := e.r, e.rec, e.l
	b = append(b, '{')
	first := true
	str := func(f int, v string) {
		switch l.fields[f] {
		case modeDrop:
			return
		case modeRedact:
			v = redacted
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, fieldNames[f]...)
		b = append(b, '"', ':')
		b = appendJSONString(b, v)
	}
	num := func(f int, v int64) {
		switch l.fields[f] {
		case modeDrop:
			return
		case modeRedact:
			str(f, "")
			return
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, fieldNames[f]...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, v, 10)
	}
	host, port := splitHostPort(r.RemoteAddr)
	reqHost, reqPort := splitHostPort(r.Host)
	origin := rec.ServiceURL != ""

	str(fClientAddr, r.RemoteAddr)
	str(fClientHost, host)
	str(fClientPort, port)
	if u := e.username(); u != "" {
		str(fClientUsername, u)
	} else {
		str(fClientUsername, "-")
	}
	num(fDownstreamContentSize, rec.Size)
	num(fDownstreamStatus, int64(e.status()))
	num(fDuration, int64(e.d))
	if origin {
		num(fOriginContentSize, rec.Size)
		num(fOriginDuration, int64(rec.OriginDuration))
		num(fOriginStatus, int64(rec.OriginStatus))
		num(fOverhead, int64(e.d-rec.OriginDuration))
	} else {
		num(fOverhead, int64(e.d))
	}
	str(fRequestAddr, r.Host)
	num(fRequestContentSize, rec.RequestSize(r))
	num(fRequestCount, int64(e.n))
	str(fRequestHost, reqHost)
	if rec.RequestID != "" {
		str(fRequestID, rec.RequestID)
	}
	str(fRequestMethod, r.Method)
	str(fRequestPath, e.path())
	if reqPort != "" {
		str(fRequestPort, reqPort)
	} else {
		str(fRequestPort, "-")
	}
	str(fRequestProtocol, r.Proto)
	if r.TLS != nil {
		str(fRequestScheme, "https")
	} else {
		str(fRequestScheme, "http")
	}
	num(fRetryAttempts, int64(rec.RetryAttempts))
	if rec.Router != "" {
		str(fRouterName, rec.Router)
	}
	if origin {
		if u := rec.ServiceURL; u != "" {
			if i := strings.Index(u, "://"); i >= 0 {
				str(fServiceAddr, strings.TrimSuffix(u[i+3:], "/"))
			}
		}
	}
	if rec.Service != "" {
		str(fServiceName, rec.Service)
	}
	if origin {
		str(fServiceURL, rec.ServiceURL)
	}
	var tb [64]byte
	str(fStartLocal, string(rec.Start.AppendFormat(tb[:0], time.RFC3339Nano)))
	str(fStartUTC, string(rec.Start.UTC().AppendFormat(tb[:0], time.RFC3339Nano)))
	if r.TLS != nil {
		str(fTLSCipher, tls.CipherSuiteName(r.TLS.CipherSuite))
		str(fTLSVersion, tlsVersion(r.TLS.Version))
	}
	str(fEntryPointName, rec.EntryPoint)

	b = e.appendHeaders(b, "request_", r.Header, &first)
	b = e.appendHeaders(b, "downstream_", e.resp, &first)
	b = append(b, `,"level":"info","msg":"","time":`...)
	b = appendJSONString(b, string(rec.Start.AppendFormat(tb[:0], time.RFC3339)))
	return append(b, '}', '\n')
}

// appendHeaders writes the kept headers of h, sorted, as prefix<Name>.
func (e *entry) appendHeaders(b []byte, prefix string, h http.Header, first *bool) []byte {
	l := e.l
	if l.hdrMode == modeDrop && len(l.hdrNames) == 0 {
		return b
	}
	var keysBuf [32]string
	keys := keysBuf[:0]
	for k := range h {
		if l.headerMode(k) != modeDrop {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := strings.Join(h[k], ",")
		if l.headerMode(k) == modeRedact {
			v = redacted
		}
		if !*first {
			b = append(b, ',')
		}
		*first = false
		b = append(b, '"')
		b = appendJSONEscaped(b, prefix+k)
		b = append(b, '"', ':')
		b = appendJSONString(b, v)
	}
	return b
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return "unknown"
}

// appendCLF writes Traefik's common log format line:
//
//	<ClientHost> - <ClientUsername> [<Start>] "<Method> <Path> <Protocol>" <Status> <Size> "<Referer>" "<User-Agent>" <RequestCount> "<RouterName>" "<ServiceURL>" <Duration>ms
//
// genericCLF stops after the User-Agent. A dropped field prints "-", a
// redacted one REDACTED.
func (e *entry) appendCLF(b []byte, common bool) []byte {
	r, rec, l := e.r, e.rec, e.l
	val := func(f int, v string) string {
		switch l.fields[f] {
		case modeDrop:
			return "-"
		case modeRedact:
			return redacted
		}
		if v == "" {
			return "-"
		}
		return v
	}
	host, _ := splitHostPort(r.RemoteAddr)
	b = append(b, val(fClientHost, host)...)
	b = append(b, " - "...)
	b = append(b, val(fClientUsername, e.username())...)
	b = append(b, " ["...)
	if l.fields[fStartLocal] == modeKeep {
		b = rec.Start.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	} else {
		b = append(b, val(fStartLocal, "")...)
	}
	b = append(b, `] "`...)
	b = appendCLFString(b, val(fRequestMethod, r.Method))
	b = append(b, ' ')
	b = appendCLFString(b, val(fRequestPath, e.path()))
	b = append(b, ' ')
	b = appendCLFString(b, val(fRequestProtocol, r.Proto))
	b = append(b, `" `...)
	b = append(b, val(fDownstreamStatus, strconv.Itoa(e.status()))...)
	b = append(b, ' ')
	b = append(b, val(fDownstreamContentSize, strconv.FormatInt(rec.Size, 10))...)
	b = append(b, ' ')
	b = e.clfHeader(b, "Referer")
	b = append(b, ' ')
	b = e.clfHeader(b, "User-Agent")
	if !common {
		return append(b, '\n')
	}
	b = append(b, ' ')
	b = append(b, val(fRequestCount, strconv.FormatUint(e.n, 10))...)
	b = append(b, ` "`...)
	b = appendCLFString(b, val(fRouterName, rec.Router))
	b = append(b, `" "`...)
	b = appendCLFString(b, val(fServiceURL, rec.ServiceURL))
	b = append(b, `" `...)
	if l.fields[fDuration] == modeKeep {
		b = strconv.AppendInt(b, e.d.Milliseconds(), 10)
		b = append(b, "ms"...)
	} else {
		b = append(b, val(fDuration, "")...)
	}
	return append(b, '\n')
}

// clfHeader writes a quoted request header for CLF, "-" when absent or
// dropped.
func (e *entry) clfHeader(b []byte, name string) []byte {
	vs := e.r.Header[name]
	// Referer and User-Agent are part of the CLF line itself, so they
	// are kept unless explicitly dropped or redacted by name.
	m := modeKeep
	if nm, ok := e.l.hdrNames[name]; ok {
		m = nm
	}
	switch {
	case m == modeDrop || len(vs) == 0 || vs[0] == "":
		return append(b, `"-"`...)
	case m == modeRedact:
		return append(b, `"`+redacted+`"`...)
	}
	b = append(b, '"')
	b = appendCLFString(b, vs[0])
	return append(b, '"')
}

// appendCLFString writes s with quotes, backslashes and control characters
// escaped, so that a request cannot forge a log line.
func appendCLFString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, `\x`...)
			b = append(b, hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}

const hex = "0123456789abcdef"

// appendJSONString writes s as a quoted JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONEscaped(b, s)
	return append(b, '"')
}

func appendJSONEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, `\u00`...)
				b = append(b, hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
