package file

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/dynamic"
)

// jsonDecoderForTest stands in for dynamic.DecodeFile: it decodes JSON
// (whatever the extension, since JSON is also YAML) so that the provider can
// be tested independently of the real decoder. A syntax error is a fatal
// issue of kind "file", as the real decoder reports it, and every object's
// Source is the file name with line 1.
func jsonDecoderForTest(filename string, data []byte) (*config.Dynamic, []config.Issue) {
	var d config.Dynamic
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, []config.Issue{{Source: filename, Kind: "file", Msg: err.Error(), Fatal: true}}
	}
	src := filepath.Base(filename) + ":1:1"
	if h := d.HTTP; h != nil {
		for _, o := range h.Routers {
			o.Source = src
		}
		for _, o := range h.Services {
			o.Source = src
		}
		for _, o := range h.Middlewares {
			o.Source = src
		}
		for _, o := range h.ServersTransports {
			o.Source = src
		}
	}
	if t := d.TLS; t != nil {
		for _, o := range t.Options {
			o.Source = src
		}
		for _, o := range t.Certificates {
			o.Source = src
		}
	}
	return &d, nil
}

// router returns a JSON file with one router.
func router(name, host string) string {
	return fmt.Sprintf(`{"http":{"routers":{%q:{"rule":"Host(%s)","service":"svc"}}}}`, name, "`"+host+"`")
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeAtomic saves a file the way many editors and tools do: write a
// temporary file next to it, then rename it over the original.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// running is a provider started by start.
type running struct {
	out    chan config.Snapshot
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, opts config.FileProvider) *running {
	t.Helper()
	p := New(opts, zaptest.NewLogger(t))
	p.Decode = jsonDecoderForTest
	return startProvider(t, p)
}

func startProvider(t *testing.T, p *Provider) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{out: make(chan config.Snapshot), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx, r.out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(waitLimit):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

// waitLimit bounds every wait for a snapshot; see until.
const waitLimit = 10 * time.Second

// next returns the next snapshot, failing the test after waitLimit.
func (r *running) next(t *testing.T) config.Snapshot {
	t.Helper()
	select {
	case s := <-r.out:
		return s
	case err := <-r.done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(waitLimit):
		t.Fatalf("no snapshot within %v", waitLimit)
	}
	return config.Snapshot{}
}

// until returns the first snapshot that satisfies ok and how long it took
// to arrive, failing the test after waitLimit. The real bound the provider
// aims for is ~100 ms; the generous limit keeps the test from flaking on a
// loaded, shared machine.
func (r *running) until(t *testing.T, what string, ok func(config.Snapshot) bool) (config.Snapshot, time.Duration) {
	t.Helper()
	begin := time.Now()
	deadline := time.After(waitLimit)
	for {
		select {
		case s := <-r.out:
			if ok(s) {
				return s, time.Since(begin)
			}
		case err := <-r.done:
			t.Fatalf("Run returned early: %v", err)
		case <-deadline:
			t.Fatalf("no snapshot with %s within %v", what, waitLimit)
		}
	}
}

// quiet fails the test if a snapshot arrives within d.
func (r *running) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case s := <-r.out:
		t.Fatalf("unexpected snapshot: routers %v, issues %v", routerNames(s), s.Issues)
	case <-time.After(d):
	}
}

func routerNames(s config.Snapshot) []string {
	var out []string
	if s.Config != nil && s.Config.HTTP != nil {
		for n := range s.Config.HTTP.Routers {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func hasRouters(names ...string) func(config.Snapshot) bool {
	slices.Sort(names)
	return func(s config.Snapshot) bool { return slices.Equal(routerNames(s), names) }
}

func rule(s config.Snapshot, name string) string {
	if s.Config == nil || s.Config.HTTP == nil || s.Config.HTTP.Routers[name] == nil {
		return ""
	}
	return s.Config.HTTP.Routers[name].Rule
}

func TestRunOptionsError(t *testing.T) {
	tests := []struct {
		desc string
		opts config.FileProvider
	}{
		{desc: "neither filename nor directory", opts: config.FileProvider{}},
		{desc: "both filename and directory", opts: config.FileProvider{Filename: "a.yml", Directory: "d"}},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			p := New(test.opts, zaptest.NewLogger(t))
			err := p.Run(context.Background(), make(chan config.Snapshot, 1))
			if err == nil || !strings.Contains(err.Error(), `"filename"`) || !strings.Contains(err.Error(), `"directory"`) {
				t.Fatalf("Run error = %v, want one naming the filename and directory options", err)
			}
		})
	}
}

func TestNoWatchSendsOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dynamic.yml")
	write(t, path, router("web", "a.example"))

	r := start(t, config.FileProvider{Filename: path, Watch: false})
	s := r.next(t)
	if s.Provider != "file" || !hasRouters("web")(s) {
		t.Fatalf("snapshot = provider %q routers %v, want file [web]", s.Provider, routerNames(s))
	}
	write(t, path, router("web", "b.example"))
	r.quiet(t, 200*time.Millisecond)
}

func TestDirectoryListing(t *testing.T) {
	dir := t.TempDir()
	files := map[string]bool{ // path → read
		"b.yaml":            true,
		"a.yml":             true,
		"sub/c.toml":        true,
		"sub/deeper/d.yml":  true,
		".hidden.yml":       false,
		".git/x.yml":        false,
		"..data/y.yml":      false,
		"e.yml~":            false,
		".#f.yml":           false,
		".g.yml.swp":        false,
		"README.md":         false,
		"sub/notes.txt":     false,
		"sub/.old/z.yaml":   false,
		"sub/deeper/w.json": false,
	}
	var want []string
	for name, read := range files {
		write(t, filepath.Join(dir, name), "{}")
		if read {
			want = append(want, filepath.Join(dir, name))
		}
	}
	slices.Sort(want)

	var (
		mu  sync.Mutex
		got []string
	)
	p := New(config.FileProvider{Directory: dir}, zaptest.NewLogger(t))
	p.Decode = func(filename string, data []byte) (*config.Dynamic, []config.Issue) {
		mu.Lock()
		got = append(got, filename)
		mu.Unlock()
		return jsonDecoderForTest(filename, data)
	}
	r := startProvider(t, p)
	s := r.next(t)
	if len(s.Issues) != 0 {
		t.Errorf("issues = %v, want none", s.Issues)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("decoded files\n got %v\nwant %v", got, want)
	}
}

func TestMergeFiles(t *testing.T) {
	tests := []struct {
		desc        string
		files       map[string]string
		wantRouters []string
		wantIssues  []string // substrings, one issue each
		check       func(t *testing.T, s config.Snapshot)
	}{
		{
			desc:        "distinct objects are merged",
			files:       map[string]string{"a.yml": router("a", "a.example"), "sub/b.yml": router("b", "b.example")},
			wantRouters: []string{"a", "b"},
		},
		{
			desc:        "equal definitions are kept once",
			files:       map[string]string{"a.yml": router("web", "x.example"), "b.yml": router("web", "x.example")},
			wantRouters: []string{"web"},
		},
		{
			desc: "different definitions are dropped and reported",
			files: map[string]string{
				"a.yml": router("web", "a.example"),
				"b.yml": `{"http":{"routers":{"web":{"rule":"Host(` + "`b.example`" + `)"},"other":{"rule":"Path(` + "`/`" + `)"}}}}`,
			},
			wantRouters: []string{"other"},
			wantIssues:  []string{`router "web@file": is defined differently in a.yml:1:1 and b.yml:1:1`},
		},
		{
			desc: "every kind is checked",
			files: map[string]string{
				"a.yml": `{"http":{"services":{"s":{"loadBalancer":{"servers":[{"url":"http://a"}]}}},"middlewares":{"m":{"type":"stripPrefix"}},"serversTransports":{"t":{"serverName":"a"}}},"tls":{"options":{"o":{"minVersion":"VersionTLS12"}}}}`,
				"b.yml": `{"http":{"services":{"s":{"loadBalancer":{"servers":[{"url":"http://b"}]}}},"middlewares":{"m":{"type":"addPrefix"}},"serversTransports":{"t":{"serverName":"b"}}},"tls":{"options":{"o":{"minVersion":"VersionTLS13"}}}}`,
			},
			wantIssues: []string{
				`service "s@file": is defined differently`,
				`middleware "m@file": is defined differently`,
				`serversTransport "t@file": is defined differently`,
				`tls "o@file": is defined differently`,
			},
			check: func(t *testing.T, s config.Snapshot) {
				h, tl := s.Config.HTTP, s.Config.TLS
				if len(h.Services)+len(h.Middlewares)+len(h.ServersTransports)+len(tl.Options) != 0 {
					t.Errorf("conflicting objects kept: %+v %+v", h, tl)
				}
			},
		},
		{
			desc: "certificates are concatenated and relative paths kept",
			files: map[string]string{
				"a.yml": `{"tls":{"certificates":[{"certFile":"certs/a.crt","keyFile":"certs/a.key"}]}}`,
				"b.yml": `{"tls":{"certificates":[{"certFile":"/etc/b.crt","keyFile":"/etc/b.key"}]}}`,
			},
			check: func(t *testing.T, s config.Snapshot) {
				var got []string
				for _, c := range s.Config.TLS.Certificates {
					got = append(got, c.CertFile)
				}
				if want := []string{"certs/a.crt", "/etc/b.crt"}; !slices.Equal(got, want) {
					t.Errorf("certificates = %v, want %v", got, want)
				}
			},
		},
		{
			desc: "a file that does not parse disables only its own objects",
			files: map[string]string{
				"a.yml": router("a", "a.example"),
				"b.yml": `{"http": {`,
			},
			wantRouters: []string{"a"},
			wantIssues:  []string{"unexpected end of JSON input"},
		},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range test.files {
				write(t, filepath.Join(dir, name), content)
			}
			r := start(t, config.FileProvider{Directory: dir})
			s := r.next(t)
			if !hasRouters(test.wantRouters...)(s) {
				t.Errorf("routers = %v, want %v", routerNames(s), test.wantRouters)
			}
			if len(s.Issues) != len(test.wantIssues) {
				t.Errorf("issues = %v, want %d", s.Issues, len(test.wantIssues))
			}
			for _, want := range test.wantIssues {
				found := false
				for _, is := range s.Issues {
					// Render as the watcher will, with the name qualified.
					if is.Object != "" {
						is.Object += "@file"
					}
					if strings.Contains(is.Error(), want) {
						found = true
						if is.Provider != "file" || !is.Fatal {
							t.Errorf("issue %+v: want provider file and fatal", is)
						}
					}
				}
				if !found {
					t.Errorf("no issue containing %q in %v", want, s.Issues)
				}
			}
			if test.check != nil {
				test.check(t, s)
			}
		})
	}
}

func TestWatchDirectory(t *testing.T) {
	tests := []struct {
		desc   string
		change func(t *testing.T, dir string)
		want   func(config.Snapshot) bool
	}{
		{
			desc:   "file edited in place",
			change: func(t *testing.T, dir string) { write(t, filepath.Join(dir, "a.yml"), router("a", "new.example")) },
			want:   func(s config.Snapshot) bool { return rule(s, "a") == "Host(`new.example`)" },
		},
		{
			desc: "file replaced by rename (atomic editor save)",
			change: func(t *testing.T, dir string) {
				writeAtomic(t, filepath.Join(dir, "a.yml"), router("a", "new.example"))
			},
			want: func(s config.Snapshot) bool { return rule(s, "a") == "Host(`new.example`)" },
		},
		{
			desc:   "file added",
			change: func(t *testing.T, dir string) { write(t, filepath.Join(dir, "c.yml"), router("c", "c.example")) },
			want:   hasRouters("a", "b", "c"),
		},
		{
			desc: "file deleted",
			change: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "b.yml")); err != nil {
					t.Fatal(err)
				}
			},
			want: hasRouters("a"),
		},
		{
			desc: "subdirectory added with a file",
			change: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "sub", "deeper", "c.yml"), router("c", "c.example"))
			},
			want: hasRouters("a", "b", "c"),
		},
		{
			desc: "subdirectory moved in",
			change: func(t *testing.T, dir string) {
				outside := filepath.Join(filepath.Dir(dir), "outside-"+filepath.Base(dir))
				write(t, filepath.Join(outside, "c.yml"), router("c", "c.example"))
				if err := os.Rename(outside, filepath.Join(dir, "moved")); err != nil {
					t.Fatal(err)
				}
			},
			want: hasRouters("a", "b", "c"),
		},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dynamic")
			write(t, filepath.Join(dir, "a.yml"), router("a", "a.example"))
			write(t, filepath.Join(dir, "b.yml"), router("b", "b.example"))
			r := start(t, config.FileProvider{Directory: dir, Watch: true})
			if s := r.next(t); !hasRouters("a", "b")(s) {
				t.Fatalf("first snapshot routers = %v", routerNames(s))
			}
			begin := time.Now()
			test.change(t, dir)
			_, _ = r.until(t, "the change", test.want)
			t.Logf("change → snapshot: %v", time.Since(begin))
			// The directory is quiet now: no more snapshots.
			r.quiet(t, 150*time.Millisecond)
		})
	}
}

// TestWatchLatency edits a file repeatedly and logs how long each change
// takes to come out as a snapshot.
func TestWatchLatency(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yml")
	write(t, path, router("a", "0.example"))
	r := start(t, config.FileProvider{Directory: dir, Watch: true})
	r.next(t)
	var worst, total time.Duration
	const n = 10
	for i := 1; i <= n; i++ {
		host := fmt.Sprintf("%d.example", i)
		begin := time.Now()
		writeAtomic(t, path, router("a", host))
		r.until(t, host, func(s config.Snapshot) bool { return rule(s, "a") == "Host(`"+host+"`)" })
		d := time.Since(begin)
		total += d
		worst = max(worst, d)
	}
	t.Logf("change → snapshot latency over %d edits: mean %v, worst %v", n, total/n, worst)
}

func TestWatchUnchangedContentSendsNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yml")
	write(t, path, router("a", "a.example"))
	r := start(t, config.FileProvider{Directory: dir, Watch: true})
	r.next(t)

	write(t, path, router("a", "a.example"))                    // same content
	write(t, filepath.Join(dir, "README.md"), "not config")     // not a config file
	write(t, filepath.Join(dir, ".a.yml.swp"), "vim swap")      // editor temp file
	write(t, filepath.Join(dir, "x.yml"), `{}`)                 // adds nothing
	write(t, filepath.Join(dir, "sub", "y.yml"), `{"http":{}}`) // adds nothing either
	r.quiet(t, 200*time.Millisecond)
}

func TestWatchSyntaxErrorKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yml")
	write(t, path, router("a", "a.example"))
	write(t, filepath.Join(dir, "b.yml"), router("b", "b.example"))
	r := start(t, config.FileProvider{Directory: dir, Watch: true})
	r.next(t)

	// A half-saved file: a's router must stay, with an issue saying why.
	write(t, path, `{"http":{"routers":{"a":{"rule":"Host(`)
	s, _ := r.until(t, "issues", func(s config.Snapshot) bool { return len(s.Issues) > 0 })
	if !hasRouters("a", "b")(s) || rule(s, "a") != "Host(`a.example`)" {
		t.Errorf("routers = %v (a: %q), want the last good a and b", routerNames(s), rule(s, "a"))
	}
	var syntax, note bool
	for _, is := range s.Issues {
		if is.Source != path || is.Kind != "file" || is.Provider != "file" {
			t.Errorf("unexpected issue %+v", is)
		}
		if is.Fatal {
			syntax = true
		} else if strings.Contains(is.Msg, "last good version") {
			note = true
		}
	}
	if !syntax || !note {
		t.Errorf("issues = %+v, want the syntax error and a non-fatal note about the last good version", s.Issues)
	}

	// Fixed: the new version is used and the issues go.
	write(t, path, router("a", "fixed.example"))
	s, _ = r.until(t, "the fix", func(s config.Snapshot) bool { return rule(s, "a") == "Host(`fixed.example`)" })
	if len(s.Issues) != 0 {
		t.Errorf("issues after the fix = %v, want none", s.Issues)
	}
}

func TestWatchSyntaxErrorOnFirstLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yml")
	write(t, path, `{"http": `)
	r := start(t, config.FileProvider{Filename: path, Watch: true})
	s := r.next(t)
	if len(routerNames(s)) != 0 || len(s.Issues) != 1 || !s.Issues[0].Fatal {
		t.Fatalf("snapshot = routers %v issues %v, want no routers and the syntax error only", routerNames(s), s.Issues)
	}
	write(t, path, router("a", "a.example"))
	r.until(t, "router a", hasRouters("a"))
}

func TestWatchFilename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dynamic.yml")
	write(t, path, router("a", "a.example"))
	// Other files next to the configured one are not read.
	write(t, filepath.Join(dir, "other.yml"), router("other", "o.example"))
	r := start(t, config.FileProvider{Filename: path, Watch: true})
	if s := r.next(t); !hasRouters("a")(s) {
		t.Fatalf("routers = %v, want [a]", routerNames(s))
	}

	write(t, filepath.Join(dir, "other.yml"), router("other", "changed.example"))
	r.quiet(t, 150*time.Millisecond)

	writeAtomic(t, path, router("b", "b.example"))
	r.until(t, "router b", hasRouters("b"))

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s, _ := r.until(t, "no routers", hasRouters())
	if len(s.Issues) != 1 || !strings.Contains(s.Issues[0].Msg, "does not exist") {
		t.Errorf("issues = %v, want one saying the file does not exist", s.Issues)
	}

	write(t, path, router("c", "c.example"))
	r.until(t, "router c", hasRouters("c"))
}

// TestWatchConfigMap mimics a Kubernetes ConfigMap volume: the file is a
// symlink through ..data, and an update swaps the ..data symlink to a new
// timestamped directory, so no event names the file itself.
func TestWatchConfigMap(t *testing.T) {
	tests := []struct {
		desc string
		opts func(mount string) config.FileProvider
	}{
		{desc: "filename", opts: func(m string) config.FileProvider {
			return config.FileProvider{Filename: filepath.Join(m, "dynamic.yml"), Watch: true}
		}},
		{desc: "directory", opts: func(m string) config.FileProvider {
			return config.FileProvider{Directory: m, Watch: true}
		}},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			mount := t.TempDir()
			version := func(n int, content string) {
				t.Helper()
				v := fmt.Sprintf("..2024_01_01_00_00_0%d", n)
				write(t, filepath.Join(mount, v, "dynamic.yml"), content)
				tmp := filepath.Join(mount, "..data_tmp")
				if err := os.Symlink(v, tmp); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, filepath.Join(mount, "..data")); err != nil {
					t.Fatal(err)
				}
			}
			version(1, router("a", "a.example"))
			if err := os.Symlink(filepath.Join("..data", "dynamic.yml"), filepath.Join(mount, "dynamic.yml")); err != nil {
				t.Fatal(err)
			}
			r := start(t, test.opts(mount))
			if s := r.next(t); !hasRouters("a")(s) {
				t.Fatalf("routers = %v, want [a] (read once, not through ..data too)", routerNames(s))
			}
			version(2, router("b", "b.example"))
			r.until(t, "router b", hasRouters("b"))
		})
	}
}

func TestWatchDirectoryRemovedAndRecreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dynamic")
	write(t, filepath.Join(dir, "a.yml"), router("a", "a.example"))
	r := start(t, config.FileProvider{Directory: dir, Watch: true})
	r.next(t)

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s, _ := r.until(t, "no routers", hasRouters())
	if len(s.Issues) != 1 || !strings.Contains(s.Issues[0].Msg, "does not exist") {
		t.Errorf("issues = %v, want one saying the directory does not exist", s.Issues)
	}

	write(t, filepath.Join(dir, "b.yml"), router("b", "b.example"))
	r.until(t, "router b", hasRouters("b"))
	// The new directory is watched.
	write(t, filepath.Join(dir, "c.yml"), router("c", "c.example"))
	r.until(t, "routers b and c", hasRouters("b", "c"))
}

func TestWatchDirectorySymlink(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "real")
	write(t, filepath.Join(target, "a.yml"), router("a", "a.example"))
	link := filepath.Join(base, "dynamic")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	r := start(t, config.FileProvider{Directory: link, Watch: true})
	if s := r.next(t); !hasRouters("a")(s) || len(s.Issues) != 0 {
		t.Fatalf("routers = %v issues = %v, want [a] and none", routerNames(s), s.Issues)
	}
	write(t, filepath.Join(target, "b.yml"), router("b", "b.example"))
	r.until(t, "routers a and b", hasRouters("a", "b"))
}

func TestWatchDirectoryCreatedLater(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dynamic")
	r := start(t, config.FileProvider{Directory: dir, Watch: true})
	if s := r.next(t); len(s.Issues) != 1 {
		t.Fatalf("issues = %v, want one saying the directory does not exist", s.Issues)
	}
	write(t, filepath.Join(dir, "a.yml"), router("a", "a.example"))
	r.until(t, "router a", hasRouters("a"))
}

func TestSendStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yml"), router("a", "a.example"))
	for _, watch := range []bool{false, true} {
		p := New(config.FileProvider{Directory: dir, Watch: watch}, zaptest.NewLogger(t))
		p.Decode = jsonDecoderForTest
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, make(chan config.Snapshot)) }() // nobody reads
		time.Sleep(20 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch=%v: Run = %v, want nil", watch, err)
			}
		case <-time.After(waitLimit):
			t.Fatalf("watch=%v: Run blocked on a send after cancel", watch)
		}
	}
}

// TestRealDecoder runs the provider with dynamic.DecodeFile on YAML and
// TOML. It is skipped while DecodeFile is still a placeholder that returns
// nothing for a non-empty file.
func TestRealDecoder(t *testing.T) {
	yml := "http:\n  routers:\n    web:\n      rule: Host(`a.example`)\n      service: svc\n"
	if d, _ := dynamic.DecodeFile("probe.yml", []byte(yml)); d == nil || d.HTTP == nil || len(d.HTTP.Routers) == 0 {
		t.Skip("dynamic.DecodeFile returns nothing for a non-empty YAML file yet")
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yml"), yml)
	write(t, filepath.Join(dir, "b.toml"), "[http.routers.api]\nrule = \"Host(`b.example`)\"\nservice = \"svc\"\n")
	write(t, filepath.Join(dir, "c.yaml"), "http:\n  routers:\n    web:\n      rule: Host(`other.example`)\n      service: svc\n")
	p := New(config.FileProvider{Directory: dir, Watch: true}, zaptest.NewLogger(t))
	r := startProvider(t, p)
	s := r.next(t)
	if !hasRouters("api")(s) {
		t.Errorf("routers = %v, want [api] (web conflicts)", routerNames(s))
	}
	found := false
	for _, is := range s.Issues {
		t.Logf("issue: %v", is)
		if is.Kind == "router" && is.Object == "web" && strings.Contains(is.Msg, "is defined differently in "+filepath.Join(dir, "a.yml")+":") {
			found = true
		}
	}
	if !found {
		t.Errorf("issues = %v, want the conflict on web naming a.yml with its line", s.Issues)
	}

	// A syntax error keeps the last good version.
	write(t, filepath.Join(dir, "b.toml"), "[http.routers.api\n")
	s, _ = r.until(t, "the syntax error", func(s config.Snapshot) bool {
		for _, is := range s.Issues {
			if is.Kind == "file" && is.Fatal {
				return true
			}
		}
		return false
	})
	if !hasRouters("api")(s) {
		t.Errorf("routers after a syntax error = %v, want the last good [api]", routerNames(s))
	}
}
