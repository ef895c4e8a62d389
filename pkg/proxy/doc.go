// Package proxy forwards requests to upstream servers.
//
// The fast path is a pooled HTTP/1.1 client written for proxying: the
// request goroutine writes the request and reads the response itself, on a
// keep-alive connection taken from a per-server LIFO stack, with no helper
// goroutines and no channels. It serves http:// and https:// servers
// (TLS is negotiated as HTTP/1.1 only). h2c:// servers, and gRPC requests to
// https:// servers, go through httputil.ReverseProxy over an
// golang.org/x/net/http2 Transport, because gRPC needs HTTP/2 and trailers.
//
// Contracts:
//   - The inbound *http.Request is never mutated; the outbound request line
//     and headers are written straight from it.
//   - Hop-by-hop headers and headers named in Connection are not forwarded,
//     except X-Forwarded-* and X-Real-Ip (CVE-2024-45410). The client IP is
//     appended to X-Forwarded-For.
//   - Upstream responses are parsed strictly; framing ambiguities (CL+TE,
//     duplicate Content-Length, bare LF, obs-fold, control characters) are
//     answered with 502 and the upstream connection is closed.
//   - A connection returns to the pool only when its response body was read
//     exactly to the end and no side asked to close it.
//   - A pooled connection idle for more than 50 ms is probed (a
//     non-blocking peek) before reuse, so one the server closed meanwhile
//     is never written to; this is what keeps a POST after a backend's
//     idle timeout from failing.
//   - A request that fails on a reused connection before any response byte
//     arrived (the stale keep-alive race) is retried once on a fresh
//     connection when it can be replayed.
//   - Errors map to 502, 504 or 499 (see ErrorStatus). Once response headers
//     have been sent, an upstream failure aborts the response with
//     panic(http.ErrAbortHandler) so the client sees a truncated response.
//   - CONNECT is answered with 501.
package proxy
