package docker

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestInterpolate(t *testing.T) {
	env := envOf(map[string]string{"HOST": "app.example.com", "EMPTY": "", "PORT": "8080"})
	for _, tc := range []struct {
		desc, in, want string
		unset          []string
		err            string
	}{
		{desc: "no variables", in: "Host(`a`)", want: "Host(`a`)"},
		{desc: "escaped dollars of an apr1 hash", in: "u:$$apr1$$H6uskkkW$$IgXLP6ewTrSuBkTrqE8wj/", want: "u:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"},
		{desc: "single dollars of a hash are variables", in: "u:$apr1$H6u/", want: "u:/", unset: []string{"apr1", "H6u"}},
		{desc: "plain variable", in: "Host(`$HOST`)", want: "Host(`app.example.com`)"},
		{desc: "braced variable", in: "${HOST}:${PORT}", want: "app.example.com:8080"},
		{desc: "unset braced variable", in: "x${NOPE}y", want: "xy", unset: []string{"NOPE"}},
		{desc: ":- default when unset", in: "${NOPE:-80}", want: "80"},
		{desc: ":- default when empty", in: "${EMPTY:-80}", want: "80"},
		{desc: "- default only when unset", in: "${EMPTY-80}", want: ""},
		{desc: "- default when unset", in: "${NOPE-80}", want: "80"},
		{desc: "set value wins over default", in: "${PORT:-80}", want: "8080"},
		{desc: "nested default", in: "${NOPE:-${PORT}}", want: "8080"},
		{desc: "nested default, unset inside", in: "${NOPE:-${NADA}}", want: "", unset: []string{"NADA"}},
		{desc: ":+ alternative when set", in: "${PORT:+on}", want: "on"},
		{desc: ":+ nothing when empty", in: "${EMPTY:+on}", want: ""},
		{desc: "+ alternative when set even empty", in: "${EMPTY+on}", want: "on"},
		{desc: ":? error when unset", in: "${NOPE:?set NOPE}", err: "required variable NOPE is missing a value: set NOPE"},
		{desc: "? passes when set", in: "${EMPTY?x}", want: ""},
		{desc: "lone dollar at the end", in: "cost 5$", err: `a lone "$" at the end`},
		{desc: "dollar before a digit", in: "$1", err: `"$1" is not a variable`},
		{desc: "unclosed brace", in: "${HOST", err: `"${" without its "}"`},
		{desc: "bad name", in: "${1X}", err: "is not a variable name"},
		{desc: "unknown operator", in: "${HOST/x}", err: "unknown operator"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			res, err := interpolate(tc.in, env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.value != tc.want || !reflect.DeepEqual(res.unset, tc.unset) {
				t.Errorf("got %q unset %v, want %q unset %v", res.value, res.unset, tc.want, tc.unset)
			}
		})
	}
}

// FuzzInterpolate: any string either fails with an error or expands; with
// no "$" in it, it expands to itself.
func FuzzInterpolate(f *testing.F) {
	for _, s := range []string{"$$a", "${A:-${B:-c}}", "$", "${", "${A:?}", "x$A_1y", "${A+}", "}}${{"} {
		f.Add(s)
	}
	env := envOf(map[string]string{"A": "1"})
	f.Fuzz(func(t *testing.T, s string) {
		res, err := interpolate(s, env)
		if err == nil && !strings.Contains(s, "$") && res.value != s {
			t.Fatalf("%q without variables expanded to %q", s, res.value)
		}
	})
}

func TestReadDotEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	content := "# comment\n\nHOST=app.example.com\nexport PORT = 8080\nQ='$$kept'\nD=\"a\\\"b\"\nC=v # note\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readDotEnv(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"HOST": "app.example.com", "PORT": "8080", "Q": "$$kept", "D": `a"b`, "C": "v"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := os.WriteFile(path, []byte("JUSTAWORD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readDotEnv(path); err == nil || !strings.Contains(err.Error(), ".env:1: want KEY=VALUE") {
		t.Errorf("bad line: error %v", err)
	}
	if m, err := readDotEnv(filepath.Join(t.TempDir(), "none")); err != nil || m != nil {
		t.Errorf("missing file: %v %v", m, err)
	}
}

// TestLintComposeInterpolates: labels are checked as the container will
// carry them, after compose's interpolation.
func TestLintComposeInterpolates(t *testing.T) {
	const hash = "test:$$apr1$$H6uskkkW$$IgXLP6ewTrSuBkTrqE8wj/"
	for _, tc := range []struct {
		desc      string
		users     string
		wantFatal bool
		wantMsg   string
	}{
		{desc: "escaped hash is valid", users: hash},
		{desc: "single-dollar hash is mangled and explained", users: strings.ReplaceAll(hash, "$$", "$"), wantFatal: true,
			wantMsg: `"$apr1", "$H6uskkkW", "$IgXLP6ewTrSuBkTrqE8wj": no such variable is set`},
		{desc: "invalid template", users: "test:$1", wantFatal: true, wantMsg: `"$1" is not a variable`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			compose := "services:\n  web:\n    image: x\n    labels:\n" +
				"      - traefik.http.routers.web.rule=Host(`${HOST:-web.localhost}`)\n" +
				"      - traefik.http.routers.web.middlewares=auth\n" +
				"      - traefik.http.middlewares.auth.basicauth.users=" + tc.users + "\n" +
				"      - traefik.http.services.web.loadbalancer.server.port=80\n"
			var opts config.DockerProvider
			opts.SetDefaults()
			snap, err := lintCompose("docker-compose.yml", []byte(compose), opts, envOf(map[string]string{"HOST": "app.example.com"}))
			if err != nil {
				t.Fatal(err)
			}
			fatal, msgs := false, ""
			for _, is := range snap.Issues {
				fatal = fatal || is.Fatal
				msgs += is.Error() + "\n"
			}
			if fatal != tc.wantFatal || !strings.Contains(msgs, tc.wantMsg) {
				t.Fatalf("fatal=%v, want %v; issues:\n%s", fatal, tc.wantFatal, msgs)
			}
			if tc.wantMsg != "" && !strings.Contains(msgs, "docker-compose.yml:7:9") {
				t.Errorf("issue does not point at the label's line:\n%s", msgs)
			}
			if len(snap.Config.HTTP.Routers) != 1 {
				t.Fatalf("routers %v, want one", snap.Config.HTTP.Routers)
			}
			for name, r := range snap.Config.HTTP.Routers {
				if r.Rule != "Host(`app.example.com`)" {
					t.Errorf("router %s rule %q, want the interpolated host", name, r.Rule)
				}
			}
		})
	}
}
