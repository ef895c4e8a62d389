package compress

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/coder/websocket"
	"github.com/klauspost/compress/zstd"

	"github.com/berthproxy/berth/pkg/middleware"
	"github.com/berthproxy/berth/pkg/reqinfo"
)

const absent = "<absent>"

// textBody returns n bytes of compressible, deterministic text.
func textBody(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<li id=\"item-%d\">Item number %d of the list, with some text.</li>\n", i, i%97)
	}
	return b.Bytes()[:n]
}

// build returns the middleware for spec (NewSpec's defaults changed by
// edit) in front of next.
func build(t testing.TB, edit func(*Spec), next http.Handler) http.Handler {
	t.Helper()
	spec := Factory{}.NewSpec().(*Spec)
	if edit != nil {
		edit(spec)
	}
	h, err := Factory{}.Build(middleware.BuildContext{}, "c", spec, next)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return h
}

// decode undoes a content coding.
func decode(t testing.TB, coding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "":
		return b
	case "gzip":
		zr, err := stdgzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unknown coding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", coding, err)
	}
	return out
}

// streamDecoder decodes a coding incrementally, as a browser does.
func streamDecoder(t testing.TB, coding string, r io.Reader) io.Reader {
	t.Helper()
	switch coding {
	case "":
		return r
	case "gzip":
		zr, err := stdgzip.NewReader(r)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		return zr
	case "br":
		return brotli.NewReader(r)
	case "zstd":
		// One goroutine, so that the decoder does not read ahead of
		// what it returns.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		t.Cleanup(zr.Close)
		return zr
	}
	t.Fatalf("unknown coding %q", coding)
	return nil
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc    string
		edit    func(*Spec)
		wantErr string // "" means valid; otherwise a part of the message
	}{
		{desc: "defaults are a complete configuration", edit: nil},
		{desc: "encodings in any case", edit: func(s *Spec) { s.Encodings = []string{"ZSTD", " br "} }},
		{desc: "duplicate encodings are accepted, as in Traefik", edit: func(s *Spec) { s.Encodings = []string{"gzip", "gzip"} }},
		{desc: "defaultEncoding among encodings", edit: func(s *Spec) { s.DefaultEncoding = "br" }},
		{desc: "content types with parameters and wildcards", edit: func(s *Spec) {
			s.ExcludedContentTypes = []string{"text/plain; charset=utf-8", "image/*"}
		}},
		{
			desc:    "excluded and included are mutually exclusive",
			edit:    func(s *Spec) { s.ExcludedContentTypes, s.IncludedContentTypes = []string{"a/b"}, []string{"c/d"} },
			wantErr: "excludedContentTypes and includedContentTypes are mutually exclusive",
		},
		{
			desc:    "excluded content type without a subtype",
			edit:    func(s *Spec) { s.ExcludedContentTypes = []string{"text"} },
			wantErr: `excludedContentTypes: "text" is not a media type`,
		},
		{
			desc:    "included content type that does not parse",
			edit:    func(s *Spec) { s.IncludedContentTypes = []string{"text/html; charset"} },
			wantErr: `includedContentTypes: "text/html; charset" is not a media type`,
		},
		{
			desc:    "negative minResponseBodyBytes",
			edit:    func(s *Spec) { s.MinResponseBodyBytes = -1 },
			wantErr: "minResponseBodyBytes: -1 is negative",
		},
		{
			desc:    "no encodings",
			edit:    func(s *Spec) { s.Encodings = nil },
			wantErr: "encodings: at least one encoding is required",
		},
		{
			desc:    "unsupported encoding",
			edit:    func(s *Spec) { s.Encodings = []string{"gzip", "deflate"} },
			wantErr: `encodings: "deflate" is not supported`,
		},
		{
			desc:    "unsupported defaultEncoding",
			edit:    func(s *Spec) { s.DefaultEncoding = "brotli" },
			wantErr: `defaultEncoding: "brotli" is not supported`,
		},
		{
			desc:    "defaultEncoding not among encodings",
			edit:    func(s *Spec) { s.Encodings, s.DefaultEncoding = []string{"gzip"}, "zstd" },
			wantErr: `defaultEncoding: "zstd" is not one of the encodings`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			spec := Factory{}.NewSpec().(*Spec)
			if tc.edit != nil {
				tc.edit(spec)
			}
			err := spec.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("Validate accepted the options, want an error with %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("Validate = %q, want it to contain %q", err, tc.wantErr)
			}
			_, berr := Factory{}.Build(middleware.BuildContext{}, "c", spec, http.NotFoundHandler())
			if (berr == nil) != (tc.wantErr == "") {
				t.Errorf("Build error = %v, want it to agree with Validate", berr)
			}
		})
	}
}

func TestBuildRefusesForeignSpec(t *testing.T) {
	if _, err := (Factory{}).Build(middleware.BuildContext{}, "c", struct{ middleware.Spec }{}, http.NotFoundHandler()); err == nil {
		t.Fatal("Build accepted options of the wrong type")
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		desc      string
		encodings []string // nil: the default (gzip, br, zstd)
		def       string
		accept    []string // nil: no Accept-Encoding header
		want      string   // "" means no compression
	}{
		{desc: "no header, no defaultEncoding", accept: nil, want: ""},
		{desc: "no header, defaultEncoding", def: "br", accept: nil, want: "br"},
		{desc: "empty header refuses every coding", def: "br", accept: []string{""}, want: ""},
		{desc: "gzip", accept: []string{"gzip"}, want: "gzip"},
		{desc: "br", accept: []string{"br"}, want: "br"},
		{desc: "zstd", accept: []string{"zstd"}, want: "zstd"},
		{desc: "browser list: ties go to the first of encodings", accept: []string{"gzip, deflate, br, zstd"}, want: "gzip"},
		{desc: "browser list with zstd first in encodings", encodings: []string{"zstd", "br", "gzip"}, accept: []string{"gzip, deflate, br, zstd"}, want: "zstd"},
		{desc: "q-values rank", accept: []string{"gzip;q=0.8, br;q=1.0"}, want: "br"},
		{desc: "equal q-values: encodings order", accept: []string{"br;q=0.5, gzip;q=0.5"}, want: "gzip"},
		{desc: "q=0 refuses", accept: []string{"gzip;q=0, br"}, want: "br"},
		{desc: "only a refused coding", accept: []string{"gzip;q=0"}, want: ""},
		{desc: "star: first of encodings", accept: []string{"*"}, want: "gzip"},
		{desc: "star: defaultEncoding", def: "zstd", accept: []string{"*"}, want: "zstd"},
		{desc: "star refused", accept: []string{"*;q=0"}, want: ""},
		{desc: "star does not bring back a refused coding", accept: []string{"*, gzip;q=0"}, want: "br"},
		{desc: "star tie goes to defaultEncoding", def: "br", accept: []string{"gzip, *"}, want: "br"},
		{desc: "named coding above star", def: "br", accept: []string{"gzip, *;q=0.5"}, want: "gzip"},
		{desc: "defaultEncoding does not apply without star", def: "br", accept: []string{"gzip, zstd"}, want: "gzip"},
		{desc: "identity only", accept: []string{"identity"}, want: ""},
		{desc: "identity preferred", accept: []string{"identity;q=1, gzip;q=0.5"}, want: ""},
		{desc: "identity tie loses", accept: []string{"identity, gzip"}, want: "gzip"},
		{desc: "unknown codings ignored", accept: []string{"deflate, compress"}, want: ""},
		{desc: "case-insensitive", accept: []string{"GZip"}, want: "gzip"},
		{desc: "x-gzip is gzip", accept: []string{"x-gzip"}, want: "gzip"},
		{desc: "coding not offered", encodings: []string{"br"}, accept: []string{"gzip"}, want: ""},
		{desc: "star with one offered", encodings: []string{"br"}, accept: []string{"*"}, want: "br"},
		{desc: "several header lines", accept: []string{"gzip;q=0.1", "br"}, want: "br"},
		{desc: "malformed q-value makes the element unusable", accept: []string{"gzip;q=abc, br;q=0.1"}, want: "br"},
		{desc: "spaces around separators", accept: []string{" gzip ; q=0.5 ,  br ; Q=0.6 "}, want: "br"},
		{desc: "q above 1 counts as 1", accept: []string{"br;q=1.5, gzip"}, want: "gzip"},
		{desc: "smallest q-value", accept: []string{"zstd;q=0.001, gzip;q=0"}, want: "zstd"},
		{desc: "other parameters ignored", accept: []string{"gzip;level=9;q=0.2, br;q=0.1"}, want: "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			edit := func(s *Spec) {
				if tc.encodings != nil {
					s.Encodings = tc.encodings
				}
				s.DefaultEncoding = tc.def
			}
			h := build(t, edit, nil).(*handler)
			got := ""
			if c := h.negotiate(tc.accept, tc.accept != nil); c != nil {
				got = c.name
			}
			if got != tc.want {
				t.Fatalf("negotiate(%q) = %q, want %q", tc.accept, got, tc.want)
			}

			// The same through ServeHTTP, for the header as net/http
			// delivers it.
			body := textBody(4096)
			hh := build(t, edit, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write(body)
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.accept != nil {
				req.Header["Accept-Encoding"] = tc.accept
			}
			rec := httptest.NewRecorder()
			hh.ServeHTTP(rec, req)
			if ce := rec.Header().Get("Content-Encoding"); ce != tc.want {
				t.Fatalf("Content-Encoding = %q, want %q", ce, tc.want)
			}
			if !bytes.Equal(decode(t, tc.want, rec.Body.Bytes()), body) {
				t.Fatal("the decoded body differs from the original")
			}
		})
	}
}

func TestParseQ(t *testing.T) {
	tests := []struct {
		desc   string
		params string
		want   int
		ok     bool
	}{
		{desc: "none", params: "", want: qOne, ok: true},
		{desc: "one", params: "q=1", want: qOne, ok: true},
		{desc: "one with decimals", params: "q=1.000", want: qOne, ok: true},
		{desc: "zero", params: "q=0", want: 0, ok: true},
		{desc: "zero with decimals", params: " q=0.000", want: 0, ok: true},
		{desc: "three decimals", params: "q=0.125", want: 125, ok: true},
		{desc: "leading dot", params: "q=.5", want: 500, ok: true},
		{desc: "trailing dot", params: "q=1.", want: qOne, ok: true},
		{desc: "fourth decimal ignored", params: "q=0.0009", want: 0, ok: true},
		{desc: "above one", params: "q=7", want: qOne, ok: true},
		{desc: "empty", params: "q=", ok: false},
		{desc: "letters", params: "q=high", ok: false},
		{desc: "negative", params: "q=-1", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, ok := parseQ(tc.params)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("parseQ(%q) = %d, %v; want %d, %v", tc.params, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// backend describes what the handler behind the middleware does.
type backend struct {
	hdr    map[string]string // response headers; "" sets an empty value list
	status int               // 0: no WriteHeader call
	size   int               // body bytes
	chunk  int               // write size; 0: all at once
}

func (b backend) handler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range b.hdr {
			if v == "" {
				w.Header()[k] = nil
			} else {
				w.Header().Set(k, v)
			}
		}
		if b.status != 0 {
			w.WriteHeader(b.status)
		}
		for rest := body; len(rest) > 0; {
			n := len(rest)
			if b.chunk > 0 {
				n = min(n, b.chunk)
			}
			_, _ = w.Write(rest[:n])
			rest = rest[n:]
		}
	})
}

func TestCompress(t *testing.T) {
	html := map[string]string{"Content-Type": "text/html; charset=utf-8"}
	tests := []struct {
		desc    string
		edit    func(*Spec)
		method  string
		reqHdr  map[string]string // Accept-Encoding defaults to gzip
		backend backend
		body    []byte // overrides textBody(backend.size)

		wantCoding string // "" means uncompressed
		wantStatus int    // 0 means 200
		wantHdr    map[string]string
	}{
		{
			desc:       "large HTML is compressed",
			backend:    backend{hdr: html, size: 10000},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Vary": "Accept-Encoding", "Content-Length": absent, "Content-Type": "text/html; charset=utf-8"},
		},
		{
			desc:    "one byte below minResponseBodyBytes",
			backend: backend{hdr: html, size: 1023},
			wantHdr: map[string]string{"Vary": absent, "Content-Encoding": absent},
		},
		{
			desc:       "exactly minResponseBodyBytes",
			backend:    backend{hdr: html, size: 1024},
			wantCoding: "gzip",
		},
		{
			desc:       "small writes add up to the threshold",
			backend:    backend{hdr: html, size: 3000, chunk: 100},
			wantCoding: "gzip",
		},
		{
			desc:       "custom minResponseBodyBytes",
			edit:       func(s *Spec) { s.MinResponseBodyBytes = 10 },
			backend:    backend{hdr: html, size: 20},
			wantCoding: "gzip",
		},
		{
			desc:    "declared Content-Length below the threshold",
			backend: backend{hdr: map[string]string{"Content-Type": "text/html", "Content-Length": "500"}, size: 500},
			wantHdr: map[string]string{"Content-Length": "500", "Content-Encoding": absent},
		},
		{
			desc:       "declared Content-Length above the threshold is removed",
			backend:    backend{hdr: map[string]string{"Content-Type": "text/html", "Content-Length": "5000"}, size: 5000, chunk: 100},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Content-Length": absent},
		},
		{
			desc:    "already encoded",
			backend: backend{hdr: map[string]string{"Content-Type": "text/html", "Content-Encoding": "br"}, size: 5000},
			wantHdr: map[string]string{"Content-Encoding": "br", "Vary": absent},
		},
		{
			desc:    "already encoded as identity",
			backend: backend{hdr: map[string]string{"Content-Type": "text/html", "Content-Encoding": "identity"}, size: 5000},
			wantHdr: map[string]string{"Content-Encoding": "identity"},
		},
		{
			desc:    "excluded content type ignores parameters",
			edit:    func(s *Spec) { s.ExcludedContentTypes = []string{"text/html"} },
			backend: backend{hdr: html, size: 5000},
		},
		{
			desc:    "excluded content type with parameters, case of the value ignored",
			edit:    func(s *Spec) { s.ExcludedContentTypes = []string{"text/plain; charset=utf-8"} },
			backend: backend{hdr: map[string]string{"Content-Type": "Text/Plain; Charset=UTF-8"}, size: 5000},
		},
		{
			desc:       "excluded content type with other parameters",
			edit:       func(s *Spec) { s.ExcludedContentTypes = []string{"text/plain; charset=utf-8"} },
			backend:    backend{hdr: map[string]string{"Content-Type": "text/plain; charset=latin1"}, size: 5000},
			wantCoding: "gzip",
		},
		{
			desc:    "excluded wildcard",
			edit:    func(s *Spec) { s.ExcludedContentTypes = []string{"text/*"} },
			backend: backend{hdr: map[string]string{"Content-Type": "text/css"}, size: 5000},
		},
		{
			desc:    "excluded */*",
			edit:    func(s *Spec) { s.ExcludedContentTypes = []string{"*/*"} },
			backend: backend{hdr: map[string]string{"Content-Type": "application/json"}, size: 5000},
		},
		{
			desc:       "included content type with parameters in the response",
			edit:       func(s *Spec) { s.IncludedContentTypes = []string{"application/json"} },
			backend:    backend{hdr: map[string]string{"Content-Type": "application/json; charset=utf-8"}, size: 5000},
			wantCoding: "gzip",
		},
		{
			desc:    "not among the included content types",
			edit:    func(s *Spec) { s.IncludedContentTypes = []string{"application/json"} },
			backend: backend{hdr: html, size: 5000},
		},
		{
			desc:    "unparsable content type",
			backend: backend{hdr: map[string]string{"Content-Type": "nonsense"}, size: 5000},
		},
		{
			desc:    "event streams are left alone by default",
			backend: backend{hdr: map[string]string{"Content-Type": "text/event-stream"}, size: 5000},
		},
		{
			desc:       "event streams when included",
			edit:       func(s *Spec) { s.IncludedContentTypes = []string{"text/event-stream"} },
			backend:    backend{hdr: map[string]string{"Content-Type": "text/event-stream"}, size: 5000},
			wantCoding: "gzip",
		},
		{
			desc:    "gRPC responses are left alone",
			backend: backend{hdr: map[string]string{"Content-Type": "application/grpc+proto"}, size: 5000},
		},
		{
			desc:    "gRPC requests are left alone",
			reqHdr:  map[string]string{"Accept-Encoding": "gzip", "Content-Type": "application/grpc"},
			backend: backend{hdr: html, size: 5000},
		},
		{
			desc:    "request with an excluded content type, as in Traefik",
			edit:    func(s *Spec) { s.ExcludedContentTypes = []string{"application/x-www-form-urlencoded"} },
			reqHdr:  map[string]string{"Accept-Encoding": "gzip", "Content-Type": "application/x-www-form-urlencoded"},
			backend: backend{hdr: html, size: 5000},
		},
		{
			desc:    "HEAD",
			method:  http.MethodHead,
			backend: backend{hdr: map[string]string{"Content-Type": "text/html", "Content-Length": "5000"}},
			wantHdr: map[string]string{"Content-Length": "5000", "Content-Encoding": absent, "Vary": absent},
		},
		{
			desc:       "204 No Content",
			backend:    backend{hdr: html, status: http.StatusNoContent},
			wantStatus: http.StatusNoContent,
		},
		{
			desc:       "304 Not Modified keeps its validators",
			backend:    backend{hdr: map[string]string{"Content-Type": "text/html", "Etag": `"v1"`}, status: http.StatusNotModified},
			wantStatus: http.StatusNotModified,
			wantHdr:    map[string]string{"Etag": `"v1"`},
		},
		{
			desc:       "206 Partial Content",
			backend:    backend{hdr: map[string]string{"Content-Type": "text/html", "Content-Range": "bytes 0-4999/10000"}, status: http.StatusPartialContent, size: 5000},
			wantStatus: http.StatusPartialContent,
		},
		{
			desc:    "Range requests are served as they are",
			reqHdr:  map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=0-"},
			backend: backend{hdr: html, size: 5000},
		},
		{
			desc:    "Cache-Control no-transform",
			backend: backend{hdr: map[string]string{"Content-Type": "text/html", "Cache-Control": "public, no-transform"}, size: 5000},
		},
		{
			desc:       "other statuses are compressed and kept",
			backend:    backend{hdr: html, status: http.StatusNotFound, size: 5000},
			wantCoding: "gzip",
			wantStatus: http.StatusNotFound,
		},
		{
			desc:       "a strong ETag becomes weak",
			backend:    backend{hdr: map[string]string{"Content-Type": "text/html", "Etag": `"abc"`}, size: 5000},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Etag": `W/"abc"`},
		},
		{
			desc:       "a weak ETag stays",
			backend:    backend{hdr: map[string]string{"Content-Type": "text/html", "Etag": `W/"abc"`}, size: 5000},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Etag": `W/"abc"`},
		},
		{
			desc:       "Accept-Ranges is removed",
			backend:    backend{hdr: map[string]string{"Content-Type": "text/html", "Accept-Ranges": "bytes"}, size: 5000},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Accept-Ranges": absent},
		},
		{
			desc:       "Vary is appended to",
			backend:    backend{hdr: map[string]string{"Content-Type": "text/html", "Vary": "Origin"}, size: 5000},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Vary": "Origin, Accept-Encoding"},
		},
		{
			desc:       "Vary already lists Accept-Encoding",
			backend:    backend{hdr: map[string]string{"Content-Type": "text/html", "Vary": "origin, accept-encoding"}, size: 5000},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Vary": "origin, accept-encoding"},
		},
		{
			desc:       "Vary star covers it",
			backend:    backend{hdr: map[string]string{"Content-Type": "text/html", "Vary": "*"}, size: 5000},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Vary": "*"},
		},
		{
			desc:       "no Content-Type: sniffed from the original body",
			backend:    backend{size: 5000},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		},
		{
			desc:    "no Content-Type: the sniffed type is excluded",
			edit:    func(s *Spec) { s.ExcludedContentTypes = []string{"image/png"} },
			body:    append([]byte("\x89PNG\x0D\x0A\x1A\x0A"), textBody(5000)...),
			backend: backend{},
			wantHdr: map[string]string{"Content-Encoding": absent},
		},
		{
			desc:       "an empty Content-Type stays empty",
			backend:    backend{hdr: map[string]string{"Content-Type": ""}, size: 5000},
			wantCoding: "gzip",
			wantHdr:    map[string]string{"Content-Type": absent},
		},
		{
			desc:       "brotli",
			reqHdr:     map[string]string{"Accept-Encoding": "br"},
			backend:    backend{hdr: html, size: 5000},
			wantCoding: "br",
		},
		{
			desc:       "zstd",
			reqHdr:     map[string]string{"Accept-Encoding": "zstd"},
			backend:    backend{hdr: html, size: 5000},
			wantCoding: "zstd",
		},
		{
			desc:    "client accepts nothing offered",
			reqHdr:  map[string]string{"Accept-Encoding": "deflate"},
			backend: backend{hdr: html, size: 5000},
		},
		{
			desc:       "nothing written: net/http's implicit 200",
			backend:    backend{hdr: html},
			wantStatus: http.StatusOK,
			wantHdr:    map[string]string{"Content-Encoding": absent},
		},
		{
			desc:       "status without a body",
			backend:    backend{hdr: html, status: http.StatusInternalServerError},
			wantStatus: http.StatusInternalServerError,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			body := tc.body
			if body == nil {
				body = textBody(tc.backend.size)
			}
			h := build(t, tc.edit, tc.backend.handler(body))
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, "/", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			for k, v := range tc.reqHdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()

			wantStatus := tc.wantStatus
			if wantStatus == 0 {
				wantStatus = http.StatusOK
			}
			if res.StatusCode != wantStatus {
				t.Errorf("status = %d, want %d", res.StatusCode, wantStatus)
			}
			if got := res.Header.Get("Content-Encoding"); got != tc.wantCoding && tc.wantHdr["Content-Encoding"] == "" {
				t.Errorf("Content-Encoding = %q, want %q", got, tc.wantCoding)
			}
			for k, want := range tc.wantHdr {
				vals, ok := res.Header[textproto.CanonicalMIMEHeaderKey(k)]
				got := strings.Join(vals, ", ")
				switch {
				case want == absent && ok && got != "":
					t.Errorf("%s = %q, want it absent", k, got)
				case want != absent && got != want:
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tc.wantCoding != "" && res.Header.Get("Vary") == "" {
				t.Error("a compressed response has no Vary")
			}
			got := rec.Body.Bytes()
			if method == http.MethodHead {
				return
			}
			if !bytes.Equal(decode(t, tc.wantCoding, got), body) {
				t.Errorf("the decoded body (%d bytes) differs from the original (%d bytes)", len(decode(t, tc.wantCoding, got)), len(body))
			}
		})
	}
}

// client returns an HTTP client that leaves Content-Encoding alone, so that
// the tests see what was sent.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
}

// TestRoundTrip sends a large body through a real server for each coding
// and decodes it as a client would.
func TestRoundTrip(t *testing.T) {
	body := textBody(3 << 20)
	h := build(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// Uneven writes, as a proxy relays them.
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 7919)
			_, _ = w.Write(rest[:n])
			rest = rest[n:]
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	tests := []struct {
		desc   string
		accept string
		want   string
	}{
		{desc: "gzip", accept: "gzip", want: "gzip"},
		{desc: "brotli", accept: "br", want: "br"},
		{desc: "zstd", accept: "zstd", want: "zstd"},
		{desc: "identity", accept: "identity", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			// Twice, so that the second response uses a pooled
			// compressor and shows that Reset leaves nothing behind.
			for i := range 2 {
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				req.Header.Set("Accept-Encoding", tc.accept)
				res, err := client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := io.ReadAll(res.Body)
				_ = res.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if got := res.Header.Get("Content-Encoding"); got != tc.want {
					t.Fatalf("Content-Encoding = %q, want %q", got, tc.want)
				}
				if tc.want != "" && len(raw) > len(body)/4 {
					t.Errorf("compressed to %d bytes of %d: the body was not compressed", len(raw), len(body))
				}
				if !bytes.Equal(decode(t, tc.want, raw), body) {
					t.Fatalf("round %d: the decoded body differs from the original", i)
				}
			}
		})
	}
}

// TestStreamingFlush checks that what a handler flushes reaches the client
// while the handler is still running, decoded, for every coding and for
// the uncompressed cases.
func TestStreamingFlush(t *testing.T) {
	tests := []struct {
		desc        string
		accept      string
		contentType string
		first       int // bytes written before the flush
		wantCoding  string
	}{
		{desc: "gzip, above the threshold", accept: "gzip", contentType: "text/plain", first: 5000, wantCoding: "gzip"},
		{desc: "brotli, above the threshold", accept: "br", contentType: "text/plain", first: 5000, wantCoding: "br"},
		{desc: "zstd, above the threshold", accept: "zstd", contentType: "text/plain", first: 5000, wantCoding: "zstd"},
		{desc: "a flush below the threshold decides at once", accept: "gzip", contentType: "application/x-ndjson", first: 20, wantCoding: "gzip"},
		{desc: "event stream, small first event", accept: "gzip", contentType: "text/event-stream", first: 20, wantCoding: ""},
		{desc: "event stream, large first event", accept: "gzip", contentType: "text/event-stream", first: 5000, wantCoding: ""},
		{desc: "a flush before any body without a Content-Type", accept: "gzip", contentType: "", first: 0, wantCoding: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			first, rest := textBody(tc.first), textBody(3000)
			proceed := make(chan struct{})
			done := make(chan struct{})
			h := build(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				_, _ = w.Write(first)
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("Flush: %v", err)
				}
				select {
				case <-proceed:
				case <-r.Context().Done():
					return
				}
				_, _ = w.Write(rest)
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()
			defer close(proceed) // a failed test must not leave the handler waiting

			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept-Encoding", tc.accept)
			res, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = res.Body.Close() }()
			if got := res.Header.Get("Content-Encoding"); got != tc.wantCoding {
				t.Fatalf("Content-Encoding = %q, want %q", got, tc.wantCoding)
			}
			// The headers and the flushed bytes arrive while the handler
			// still waits for proceed: it cannot have finished.
			dec := streamDecoder(t, tc.wantCoding, res.Body)
			got := make([]byte, len(first))
			if _, err := io.ReadFull(dec, got); err != nil {
				t.Fatalf("reading the flushed part: %v", err)
			}
			if !bytes.Equal(got, first) {
				t.Fatal("the flushed part differs from what was written")
			}
			select {
			case <-done:
				t.Fatal("the handler finished before it was allowed to")
			default:
			}
			proceed <- struct{}{}
			all, err := io.ReadAll(dec)
			if err != nil {
				t.Fatalf("reading the rest: %v", err)
			}
			if !bytes.Equal(all, rest) {
				t.Fatal("the rest differs from what was written")
			}
		})
	}
}

// TestEarlyHints checks that an informational response passes through at
// once and the final one is still compressed.
func TestEarlyHints(t *testing.T) {
	body := textBody(5000)
	h := build(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(body)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	var hints []int
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			hints = append(hints, code)
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if len(hints) != 1 || hints[0] != http.StatusEarlyHints {
		t.Errorf("informational responses = %v, want [103]", hints)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("final response: %d, Content-Encoding %q; want 200, gzip", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	if !bytes.Equal(decode(t, "gzip", raw), body) {
		t.Fatal("the decoded body differs from the original")
	}
}

// TestHijack checks that a handler can take over the connection through
// the middleware's writer, on a request that is otherwise compressible.
func TestHijack(t *testing.T) {
	h := build(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if _, ok := w.(*responseWriter); !ok {
			t.Errorf("the handler got %T, want the middleware's writer", w)
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer func() { _ = c.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nraw ok")
		_ = brw.Flush()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if string(b) != "raw ok" || res.Header.Get("Content-Encoding") != "" {
		t.Fatalf("got %q with Content-Encoding %q, want the handler's raw answer", b, res.Header.Get("Content-Encoding"))
	}
}

// TestWebSocketThroughProxy sends a WebSocket through the middleware in
// front of net/http/httputil's reverse proxy, which hijacks the connection
// through http.ResponseController, with a client that also accepts gzip.
func TestWebSocketThroughProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		_ = c.Write(r.Context(), typ, msg)
	}))
	defer backend.Close()
	target, _ := url.Parse(backend.URL)
	proxy := httptest.NewServer(build(t, nil, httputil.NewSingleHostReverseProxy(target)))
	defer proxy.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(proxy.URL, "http"), &websocket.DialOptions{
		HTTPHeader: http.Header{"Accept-Encoding": {"gzip, br, zstd"}},
	})
	if err != nil {
		t.Fatalf("dial through the middleware: %v", err)
	}
	defer func() { _ = c.CloseNow() }()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("status %d, Content-Encoding %q; want 101 and none", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	msg := strings.Repeat("ping ", 1000) // above the threshold
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_, got, err := c.Read(ctx)
	if err != nil || string(got) != msg {
		t.Fatalf("echo: %d bytes, %v", len(got), err)
	}
}

// TestReqinfoThroughWriter checks that the entrypoint's record and its
// flushing are reachable through the middleware's writer.
func TestReqinfoThroughWriter(t *testing.T) {
	body := textBody(5000)
	var found bool
	inner := build(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		found = reqinfo.From(w) != nil
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through reqinfo: %v", err)
		}
	}))
	rec := httptest.NewRecorder()
	rw := reqinfo.Acquire(rec, time.Now())
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	inner.ServeHTTP(rw, req)
	status, size := rw.Record.Status, rw.Record.Size
	reqinfo.Release(rw)
	if !found {
		t.Error("reqinfo.From found no record through the middleware's writer")
	}
	if !rec.Flushed {
		t.Error("the flush did not reach the underlying writer")
	}
	if status != http.StatusOK || size != int64(rec.Body.Len()) || size >= int64(len(body)) {
		t.Errorf("record: status %d, size %d; want 200 and the compressed size %d", status, size, rec.Body.Len())
	}
}

// TestPanicReleases checks that a handler that panics, as the proxy does
// with http.ErrAbortHandler when its backend fails mid-body, gets its
// panic through and leaves the compressor and the writer released, without
// a trailer that would make the cut-off body look complete.
func TestPanicReleases(t *testing.T) {
	tests := []struct {
		desc  string
		size  int // written before the panic
		state uint8
	}{
		{desc: "while compressing", size: 5000, state: stateCompressing},
		{desc: "while holding the body back", size: 100, state: statePending},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var rw *responseWriter
			var enc *encoder
			h := build(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write(textBody(tc.size))
				rw = w.(*responseWriter)
				if rw.state != tc.state {
					t.Errorf("state = %d, want %d", rw.state, tc.state)
				}
				enc = rw.enc
				panic(http.ErrAbortHandler)
			}))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			func() {
				defer func() {
					if p := recover(); p != http.ErrAbortHandler {
						t.Errorf("recovered %v, want http.ErrAbortHandler", p)
					}
				}()
				h.ServeHTTP(rec, req)
			}()
			if rw.rw != nil || rw.enc != nil || rw.state != statePending || len(rw.buf) != 0 {
				t.Error("the writer was not released")
			}
			if tc.state == stateCompressing {
				if enc == nil || enc.out.w != nil {
					t.Error("the compressor was not released")
				}
				// A gzip stream that was not closed does not decode to
				// its end: the client must see a truncated body.
				zr, err := stdgzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
				if err == nil {
					_, err = io.ReadAll(zr)
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("decoding the cut-off body: %v, want io.ErrUnexpectedEOF", err)
				}
			} else if rec.Body.Len() != 0 {
				t.Errorf("%d bytes were sent for a response cut off while held back", rec.Body.Len())
			}
		})
	}
}

// discardWriter is a ResponseWriter that costs nothing, so that the
// benchmarks measure the middleware.
type discardWriter struct {
	hdr http.Header
	n   int
}

func (d *discardWriter) Header() http.Header         { return d.hdr }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

func benchmark(b *testing.B, accept string, size int) {
	body := textBody(size)
	h := build(b, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		_, _ = w.Write(body)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", accept)
	w := &discardWriter{hdr: http.Header{}}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		clear(w.hdr)
		h.ServeHTTP(w, req)
		n++
	}
	b.ReportMetric(float64(w.n)/float64(n)/float64(size)*100, "%size")
}

// BenchmarkCompressGzip compresses a 16 KiB JSON body, the common case.
func BenchmarkCompressGzip(b *testing.B) { benchmark(b, "gzip, deflate, br, zstd", 16<<10) }

func BenchmarkCompressBrotli(b *testing.B) { benchmark(b, "br", 16<<10) }

func BenchmarkCompressZstd(b *testing.B) { benchmark(b, "zstd", 16<<10) }

// BenchmarkCompressSmall is a body below the threshold, which is held
// back and sent as it is.
func BenchmarkCompressSmall(b *testing.B) { benchmark(b, "gzip", 512) }
