package chain

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/middleware"
)

// fakeChainer is a test double for the routing table's Chain function: it
// records the names it was asked for and wraps next in a handler that adds
// one response header per name, so the order can be observed.
type fakeChainer struct {
	gotNames []string
	err      error
}

func (f *fakeChainer) Chain(names []string, next http.Handler) (http.Handler, error) {
	f.gotNames = names
	if f.err != nil {
		return nil, f.err
	}
	h := next
	for i := len(names) - 1; i >= 0; i-- {
		name, inner := names[i], h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("X-Ran", name)
			inner.ServeHTTP(w, r)
		})
	}
	return h, nil
}

func TestBuild(t *testing.T) {
	tests := []struct {
		desc      string
		names     []string
		chainErr  error
		noChainer bool
		wantNames []string
		wantRan   []string
		wantErr   string
	}{
		{
			desc:      "wraps next in the named middlewares in order",
			names:     []string{"auth", " strip@file "},
			wantNames: []string{"auth", "strip@file"},
			wantRan:   []string{"auth", "strip@file", "next"},
		},
		{
			desc:     "reports the routing table's error",
			names:    []string{"self"},
			chainErr: errors.New(`reference cycle: self@file -> self@file`),
			wantErr:  "reference cycle",
		},
		{
			desc:    "empty list is refused",
			wantErr: "at least one middleware",
		},
		{
			desc:      "missing Chain func is an error, not a panic",
			names:     []string{"a"},
			noChainer: true,
			wantErr:   "no way to resolve",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			fake := &fakeChainer{err: tt.chainErr}
			ctx := middleware.BuildContext{Chain: fake.Chain}
			if tt.noChainer {
				ctx.Chain = nil
			}
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Add("X-Ran", "next") })
			h, err := Factory{}.Build(ctx, "c", &Spec{Middlewares: tt.names}, next)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if !reflect.DeepEqual(fake.gotNames, tt.wantNames) {
				t.Errorf("Chain names = %q, want %q", fake.gotNames, tt.wantNames)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if got := rec.Header().Values("X-Ran"); !reflect.DeepEqual(got, tt.wantRan) {
				t.Errorf("ran %q, want %q", got, tt.wantRan)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "empty", wantErr: "at least one middleware"},
		{desc: "blank name", spec: Spec{Middlewares: []string{"a", " "}}, wantErr: "entry 2 is empty"},
		{desc: "valid", spec: Spec{Middlewares: []string{"a", "b@docker"}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.spec.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}
