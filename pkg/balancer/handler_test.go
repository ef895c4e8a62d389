package balancer

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// pickerFunc adapts a function to a Picker.
type pickerFunc func(*http.Request) (PickResult, error)

func (f pickerFunc) Pick(r *http.Request) (PickResult, error) { return f(r) }

func TestHandler(t *testing.T) {
	ok := &Server{URL: "ok", Weight: 1, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("served"))
	})}
	var doneErr error
	doneCalls := 0
	done := func(err error) { doneCalls++; doneErr = err }

	tests := []struct {
		desc       string
		picker     Picker
		wantCode   int
		wantBody   string
		wantCookie string
		wantDone   int
	}{
		{
			desc:     "no servers gives 503",
			picker:   noServer{},
			wantCode: http.StatusServiceUnavailable,
			wantBody: "Service Unavailable\n",
		},
		{
			desc: "other pick errors give 500",
			picker: pickerFunc(func(*http.Request) (PickResult, error) {
				return PickResult{}, errors.New("boom")
			}),
			wantCode: http.StatusInternalServerError,
			wantBody: "Internal Server Error\n",
		},
		{
			desc: "serves through the chosen server, sets the cookie and calls Done",
			picker: pickerFunc(func(*http.Request) (PickResult, error) {
				return PickResult{Server: ok, SetCookie: &http.Cookie{Name: "sticky", Value: "ok"}, Done: done}, nil
			}),
			wantCode:   http.StatusOK,
			wantBody:   "served",
			wantCookie: "sticky=ok",
			wantDone:   1,
		},
		{
			desc: "server without a handler gives 502",
			picker: pickerFunc(func(*http.Request) (PickResult, error) {
				return PickResult{Server: &Server{URL: "x"}, Done: done}, nil
			}),
			wantCode: http.StatusBadGateway,
			wantBody: "Bad Gateway\n",
			wantDone: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			doneCalls, doneErr = 0, nil
			rec := httptest.NewRecorder()
			Handler(tt.picker).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil))
			if rec.Code != tt.wantCode || rec.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
			if tt.wantCode >= 500 {
				if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type %q, want text/plain", ct)
				}
			}
			if got := rec.Header().Get("Set-Cookie"); got != tt.wantCookie {
				t.Errorf("Set-Cookie %q, want %q", got, tt.wantCookie)
			}
			if doneCalls != tt.wantDone {
				t.Errorf("Done called %d times, want %d", doneCalls, tt.wantDone)
			}
			if tt.wantCode == http.StatusOK && doneErr != nil {
				t.Errorf("Done(%v), want Done(nil)", doneErr)
			}
		})
	}
}

func TestHandlerDoneOnPanic(t *testing.T) {
	var got error
	s := &Server{URL: "p", Weight: 1, Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	})}
	h := Handler(pickerFunc(func(*http.Request) (PickResult, error) {
		return PickResult{Server: s, Done: func(err error) { got = err }}, nil
	}))
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want the handler's panic to go through", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil))
	}()
	if !errors.Is(got, errPanicked) {
		t.Errorf("Done(%v), want Done(errPanicked)", got)
	}
}

func TestHandlerWRR(t *testing.T) {
	var hits []string
	srv := servers(2, 1)
	for _, s := range srv {
		s.Handler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits = append(hits, s.URL) })
	}
	p, err := buildWRR(srv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(p)
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil))
	}
	if got := len(hits); got != 3 || hits[0] != "a" || hits[1] != "b" || hits[2] != "a" {
		t.Errorf("hits %v, want [a b a]", hits)
	}
}
