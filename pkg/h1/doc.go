// Package h1 is berth's strict HTTP/1.0 and HTTP/1.1 server.
//
// Go's net/http server is deliberately lenient about request framing: it
// accepts a request carrying both Content-Length and Transfer-Encoding, folds
// obs-fold continuation lines and accepts bare LF line endings. Each of those
// leniencies is a request-smuggling vector when the server sits in front of
// other servers, as a reverse proxy does. This package parses requests
// strictly (RFC 9112), rejects anything ambiguous with a 4xx/5xx and
// "Connection: close", and still hands handlers an ordinary *http.Request and
// http.ResponseWriter so that berth's middlewares stay plain net/http code.
//
// The server is also berth's hot path, so it avoids per-request allocations
// where the net/http handler API allows it: per-connection state (buffers,
// the response writer, its header map) is pooled and reused, the request head
// is converted to a single string of which every header value, the method and
// the target are substrings, and the Date header is formatted once a second.
//
// HTTP/2 is out of scope: it is served by golang.org/x/net/http2 elsewhere.
package h1
