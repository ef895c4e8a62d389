package balancer

import (
	"errors"
	"net/http"
)

// errPanicked is what Done receives when the server's handler panicked
// (httputil.ReverseProxy aborts a broken response with a panic).
var errPanicked = errors.New("handler panicked")

// Handler serves each request through p: it picks a server, sets the
// picker's cookie if any, serves the request with the server's Handler and
// then calls Done. ErrNoServer becomes a plain-text 503.
func Handler(p Picker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := p.Pick(r)
		if err != nil {
			if errors.Is(err, ErrNoServer) {
				plainError(w, http.StatusServiceUnavailable)
			} else {
				plainError(w, http.StatusInternalServerError)
			}
			return
		}
		if res.Server == nil || res.Server.Handler == nil {
			if res.Done != nil {
				res.Done(ErrNoServer)
			}
			plainError(w, http.StatusBadGateway)
			return
		}
		if res.SetCookie != nil {
			http.SetCookie(w, res.SetCookie)
		}
		if res.Done == nil {
			res.Server.Handler.ServeHTTP(w, r)
			return
		}
		// Done runs even when the handler panics, so that in-flight
		// counts stay right; the panic is not recovered here so that it
		// keeps its stack trace for net/http.
		served := false
		defer func() {
			if served {
				res.Done(nil)
			} else {
				res.Done(errPanicked)
			}
		}()
		res.Server.Handler.ServeHTTP(w, r)
		served = true
	})
}

// plainError writes "<Status Text>\n" as text/plain with code.
func plainError(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(http.StatusText(code) + "\n"))
}
