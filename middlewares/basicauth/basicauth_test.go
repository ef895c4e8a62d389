package basicauth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Hashes of the password "secret". The apr1 and MD5-crypt ones were made
// with `openssl passwd -apr1 -salt saltsalt secret` and
// `openssl passwd -1 -salt saltsalt secret`, which produce what
// `htpasswd -m` does; the SHA1 one with
// `printf secret | openssl dgst -sha1 -binary | base64`.
const (
	bcrypt4Secret  = "$2a$04$mgylw9JRRJ/bQm29s61hkeJOuUBUMnKLqouVwwfkfSNifn/sd70WC"
	bcrypt5Secret  = "$2a$05$nwT449J3EQr/xJXJDSfKS.sHwPXINdFt6Gj2SwT6AWm.bGCj/WXym"
	bcrypt2ySecret = "$2y$04$mgylw9JRRJ/bQm29s61hkeJOuUBUMnKLqouVwwfkfSNifn/sd70WC"
	apr1Secret     = "$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0"
	md5Secret      = "$1$saltsalt$9xy1btjgzLYfb7hivXtC//"
	sha1Secret     = "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="
	sha1Other      = "{SHA}0JQeaNqPOBUf+Gph/Fn3xc+fyqI=" // of "other"
)

func TestMD5CryptVectors(t *testing.T) {
	tests := []struct {
		desc, password, salt, magic, want string
	}{
		{desc: "apr1", password: "secret", salt: "saltsalt", magic: "$apr1$", want: apr1Secret},
		{desc: "apr1 short salt", password: "password", salt: "abc", magic: "$apr1$", want: "$apr1$abc$mehJE/UcwZsj.w5DYe.b5."},
		{desc: "apr1 non-ASCII and colon", password: "p@ss:w0rd é", salt: "12345678", magic: "$apr1$", want: "$apr1$12345678$JptDVR/RHzgkW252Vd7J20"},
		{desc: "apr1 empty password", password: "", salt: "x", magic: "$apr1$", want: "$apr1$x$tMwYqBfQwi3FYAr0aJc8M/"},
		{desc: "MD5-crypt", password: "secret", salt: "saltsalt", magic: "$1$", want: md5Secret},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := md5Crypt(tt.password, tt.salt, tt.magic); got != tt.want {
				t.Errorf("md5Crypt = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBasicAuth(t *testing.T) {
	dir := t.TempDir()
	usersFile := filepath.Join(dir, "users")
	if err := os.WriteFile(usersFile, []byte("# team\n\nfile:"+sha1Secret+"\n  both:"+apr1Secret+"  \n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		desc       string
		spec       Spec
		user, pass string
		noAuth     bool
		reqHdr     map[string]string
		wantStatus int
		wantReq    map[string]string // headers seen by next; "" means absent
	}{
		{desc: "bcrypt", spec: Spec{Users: []string{"bob:" + bcrypt4Secret}}, user: "bob", pass: "secret", wantStatus: 200},
		{desc: "bcrypt $2y$", spec: Spec{Users: []string{"bob:" + bcrypt2ySecret}}, user: "bob", pass: "secret", wantStatus: 200},
		{desc: "apr1", spec: Spec{Users: []string{"bob:" + apr1Secret}}, user: "bob", pass: "secret", wantStatus: 200},
		{desc: "MD5-crypt", spec: Spec{Users: []string{"bob:" + md5Secret}}, user: "bob", pass: "secret", wantStatus: 200},
		{desc: "SHA1", spec: Spec{Users: []string{"bob:" + sha1Secret}}, user: "bob", pass: "secret", wantStatus: 200},
		{desc: "bcrypt wrong password", spec: Spec{Users: []string{"bob:" + bcrypt4Secret}}, user: "bob", pass: "Secret", wantStatus: 401},
		{desc: "apr1 wrong password", spec: Spec{Users: []string{"bob:" + apr1Secret}}, user: "bob", pass: "secreT", wantStatus: 401},
		{desc: "SHA1 wrong password", spec: Spec{Users: []string{"bob:" + sha1Secret}}, user: "bob", pass: "", wantStatus: 401},
		{desc: "unknown user", spec: Spec{Users: []string{"bob:" + bcrypt4Secret}}, user: "alice", pass: "secret", wantStatus: 401},
		{desc: "no credentials", spec: Spec{Users: []string{"bob:" + bcrypt4Secret}}, noAuth: true, wantStatus: 401},
		{
			desc:       "one of several users",
			spec:       Spec{Users: []string{"a:" + sha1Secret, "b:" + apr1Secret}},
			user:       "b",
			pass:       "secret",
			wantStatus: 200,
		},
		{
			desc:       "Authorization is forwarded by default",
			spec:       Spec{Users: []string{"bob:" + sha1Secret}},
			user:       "bob",
			pass:       "secret",
			wantStatus: 200,
			wantReq:    map[string]string{"Authorization": "Basic Ym9iOnNlY3JldA=="},
		},
		{
			desc:       "removeHeader",
			spec:       Spec{Users: []string{"bob:" + sha1Secret}, RemoveHeader: true},
			user:       "bob",
			pass:       "secret",
			wantStatus: 200,
			wantReq:    map[string]string{"Authorization": ""},
		},
		{
			desc:       "headerField replaces a value sent by the client",
			spec:       Spec{Users: []string{"bob:" + sha1Secret}, HeaderField: "X-WebAuth-User"},
			user:       "bob",
			pass:       "secret",
			reqHdr:     map[string]string{"X-Webauth-User": "admin"},
			wantStatus: 200,
			wantReq:    map[string]string{"X-WebAuth-User": "bob"},
		},
		{desc: "usersFile", spec: Spec{UsersFile: usersFile}, user: "file", pass: "secret", wantStatus: 200},
		{
			desc:       "usersFile and users are merged",
			spec:       Spec{Users: []string{"inline:" + sha1Secret}, UsersFile: usersFile},
			user:       "inline",
			pass:       "secret",
			wantStatus: 200,
		},
		{
			desc:       "usersFile wins over users",
			spec:       Spec{Users: []string{"both:" + sha1Other}, UsersFile: usersFile},
			user:       "both",
			pass:       "secret",
			wantStatus: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var got *http.Request
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r })
			h, err := Factory{}.Build(middleware.BuildContext{}, "auth", &tt.spec, next)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if !tt.noAuth {
				r.SetBasicAuth(tt.user, tt.pass)
			}
			for k, v := range tt.reqHdr {
				r.Header.Set(k, v)
			}
			before := r.Header.Clone()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if tt.wantStatus == 200 {
				if got == nil {
					t.Fatalf("status %d, want the request passed on", rec.Code)
				}
			} else {
				if got != nil {
					t.Fatal("request passed on, want it refused")
				}
				if rec.Code != tt.wantStatus {
					t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
				}
				if w := rec.Header().Get("WWW-Authenticate"); w != `Basic realm="traefik"` {
					t.Errorf("WWW-Authenticate = %q", w)
				}
				if rec.Body.Len() == 0 || rec.Body.Len() > 64 {
					t.Errorf("body = %q, want a short text", rec.Body.String())
				}
			}
			for k, want := range tt.wantReq {
				if v := strings.Join(got.Header.Values(k), ","); v != want {
					t.Errorf("forwarded %s = %q, want %q", k, v, want)
				}
			}
			if len(before) != len(r.Header) || before.Get("Authorization") != r.Header.Get("Authorization") {
				t.Errorf("caller's request headers changed")
			}
		})
	}
}

func TestRealm(t *testing.T) {
	spec := Factory{}.NewSpec().(*Spec)
	spec.Users = []string{"bob:" + sha1Secret}
	spec.Realm = "my site"
	h, err := Factory{}.Build(middleware.BuildContext{}, "auth", spec, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := rec.Header().Get("WWW-Authenticate"); got != `Basic realm="my site"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

// TestCache checks that a repeated successful login skips the hash check
// and that failures are never cached.
func TestCache(t *testing.T) {
	tests := []struct {
		desc      string
		hash      string
		first     string // password of the first request
		second    string // password of the second request
		wantCheck bool   // whether the second request reaches the hash
		wantOK    bool   // whether the second request is let through
	}{
		{desc: "repeat success is a cache hit", hash: bcrypt4Secret, first: "secret", second: "secret", wantCheck: false, wantOK: true},
		{desc: "other password after a success is checked", hash: bcrypt4Secret, first: "secret", second: "wrong", wantCheck: true, wantOK: false},
		{desc: "failure is not cached", hash: bcrypt4Secret, first: "wrong", second: "wrong", wantCheck: true, wantOK: false},
		{desc: "apr1 is cached too", hash: apr1Secret, first: "secret", second: "secret", wantCheck: false, wantOK: true},
		{desc: "SHA1 is cheaper than the cache and not cached", hash: sha1Secret, first: "secret", second: "secret", wantCheck: true, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			hh, err := Factory{}.Build(middleware.BuildContext{}, "auth", &Spec{Users: []string{"bob:" + tt.hash}}, http.NotFoundHandler())
			if err != nil {
				t.Fatal(err)
			}
			h := hh.(*handler)
			if ok := h.authenticate("bob", tt.first); ok != (tt.first == "secret") {
				t.Fatalf("first authenticate = %v", ok)
			}
			cred := h.users["bob"]
			real, checked := cred.verify, false
			cred.verify = func(pw string) bool { checked = true; return real(pw) }
			if ok := h.authenticate("bob", tt.second); ok != tt.wantOK {
				t.Errorf("second authenticate = %v, want %v", ok, tt.wantOK)
			}
			if checked != tt.wantCheck {
				t.Errorf("hash checked = %v, want %v", checked, tt.wantCheck)
			}
		})
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := newVerifiedCache(4)
	for i := range 10 {
		c.add(cacheKey("u", strings.Repeat("x", i), "h"))
	}
	if c.len() != 4 {
		t.Errorf("len = %d, want 4", c.len())
	}
	if !c.contains(cacheKey("u", strings.Repeat("x", 9), "h")) {
		t.Error("the latest entry was evicted")
	}
}

// TestUnknownUserTiming checks that an unknown user costs a bcrypt check
// of the same cost as a known one. Costs 4 and 8 differ 16-fold, so the
// comparison is robust on a loaded machine.
func TestUnknownUserTiming(t *testing.T) {
	const cost8 = "$2a$08$mgylw9JRRJ/bQm29s61hkeJOuUBUMnKLqouVwwfkfSNifn/sd70WC"
	hh, err := Factory{}.Build(middleware.BuildContext{}, "auth", &Spec{Users: []string{"fast:" + bcrypt4Secret, "slow:" + cost8}}, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	h := hh.(*handler)
	if !strings.HasPrefix(h.dummy.hash, "$2a$08$") {
		t.Fatalf("dummy hash %q, want cost 8 like the slowest user", h.dummy.hash)
	}
	timeIt := func(name string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			h.authenticate(name, "wrong")
			best = min(best, time.Since(start))
		}
		return best
	}
	fast, unknown := timeIt("fast"), timeIt("nobody")
	if unknown < 4*fast {
		t.Errorf("unknown user took %v, cost-4 user %v: want the unknown user checked at cost 8", unknown, fast)
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "missing file", spec: Spec{UsersFile: filepath.Join(dir, "nope")}, wantErr: "usersFile: open"},
		{desc: "plain text in file", spec: Spec{UsersFile: write("plain", "# c\nbob:hunter2\n")}, wantErr: `line 2: the password of "bob" is not hashed`},
		{desc: "duplicate in file", spec: Spec{UsersFile: write("dup", "a:"+sha1Secret+"\na:"+sha1Secret+"\n")}, wantErr: `line 2: user "a" is already defined`},
		{desc: "empty file", spec: Spec{UsersFile: write("empty", "# nobody\n")}, wantErr: "defines no user"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := Factory{}.Build(middleware.BuildContext{}, "auth", &tt.spec, http.NotFoundHandler())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Build error = %v, want containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error repeats the password: %v", err)
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
		{desc: "empty", wantErr: "at least one user"},
		{desc: "plain text password", spec: Spec{Users: []string{"bob:hunter2"}}, wantErr: "htpasswd -nbB bob"},
		{desc: "plain text names the formats", spec: Spec{Users: []string{"bob:hunter2"}}, wantErr: "bcrypt ($2y$...), apr1 ($apr1$...) or SHA1 ({SHA}...)"},
		{desc: "no colon", spec: Spec{Users: []string{"bob"}}, wantErr: `users[0]: want "name:hash"`},
		{desc: "empty name", spec: Spec{Users: []string{":" + sha1Secret}}, wantErr: "user name is empty"},
		{desc: "duplicate user", spec: Spec{Users: []string{"bob:" + sha1Secret, "bob:" + apr1Secret}}, wantErr: `users[1]: user "bob" is already defined in users[0]`},
		{desc: "truncated bcrypt", spec: Spec{Users: []string{"bob:" + bcrypt4Secret[:50]}}, wantErr: "bcrypt hash of \"bob\" is malformed"},
		{desc: "bcrypt cost too high", spec: Spec{Users: []string{"bob:$2a$20" + bcrypt4Secret[6:]}}, wantErr: "cost 20"},
		{desc: "truncated apr1", spec: Spec{Users: []string{"bob:" + apr1Secret[:20]}}, wantErr: "apr1 hash of \"bob\" is malformed"},
		{desc: "bad SHA1", spec: Spec{Users: []string{"bob:{SHA}abc"}}, wantErr: "SHA1 hash of \"bob\" is malformed"},
		{desc: "compose escaping", spec: Spec{Users: []string{"bob:$$2y$$05$$abc"}}, wantErr: "docker-compose escaping"},
		{desc: "bad realm", spec: Spec{Users: []string{"bob:" + sha1Secret}, Realm: `a"b`}, wantErr: "realm:"},
		{desc: "bad headerField", spec: Spec{Users: []string{"bob:" + sha1Secret}, HeaderField: "X User"}, wantErr: `headerField: "X User"`},
		{desc: "headerField Authorization", spec: Spec{Users: []string{"bob:" + sha1Secret}, HeaderField: "authorization"}, wantErr: "would overwrite"},
		{desc: "valid", spec: Spec{Users: []string{"a:" + bcrypt5Secret, "b:" + apr1Secret, "c:" + sha1Secret, "d:" + md5Secret}}},
		{desc: "usersFile alone is checked at build", spec: Spec{UsersFile: "/etc/berth/users"}},
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
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error repeats the password: %v", err)
			}
		})
	}
}
