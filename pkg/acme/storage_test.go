package acme

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

func sample(main string) *ResolverData {
	return &ResolverData{
		Account: &Account{Email: "a@b.c", Registration: &Registration{URI: "https://ca/acct/1"}, PrivateKey: []byte{1, 2, 3}},
		Certificates: []*StoredCert{{Domain: config.Domain{Main: main, SANs: []string{"www." + main}},
			Certificate: []byte("-----BEGIN CERTIFICATE-----\n"), Key: []byte("key"), Store: "default"}},
	}
}

func TestFileStorage(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		desc    string
		initial []byte // nil: no file; else its content
		mode    os.FileMode
		check   func(t *testing.T, fs *FileStorage, path string)
	}{
		{
			desc: "round trip, 0600, resolvers kept apart",
			check: func(t *testing.T, fs *FileStorage, path string) {
				if err := fs.Save(ctx, "le", sample("a.test")); err != nil {
					t.Fatal(err)
				}
				if err := fs.Save(ctx, "zerossl", sample("b.test")); err != nil {
					t.Fatal(err)
				}
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("mode %v, want 0600", st.Mode().Perm())
				}
				again := NewFileStorage(path, nil)
				got, err := again.Load(ctx, "le")
				if err != nil {
					t.Fatal(err)
				}
				if got.Certificates[0].Domain.Main != "a.test" || got.Account.Registration.URI != "https://ca/acct/1" {
					t.Errorf("got %+v", got)
				}
				got, _ = again.Load(ctx, "zerossl")
				if got.Certificates[0].Domain.Main != "b.test" {
					t.Errorf("got %+v", got)
				}
				if empty, _ := again.Load(ctx, "other"); empty.Account != nil || len(empty.Certificates) != 0 {
					t.Errorf("unknown resolver: got %+v", empty)
				}
			},
		},
		{
			desc: "no temporary file is left behind",
			check: func(t *testing.T, fs *FileStorage, path string) {
				for i := range 3 {
					if err := fs.Save(ctx, "le", sample("a.test")); err != nil {
						t.Fatal(i, err)
					}
				}
				entries, _ := os.ReadDir(filepath.Dir(path))
				if len(entries) != 1 {
					var names []string
					for _, e := range entries {
						names = append(names, e.Name())
					}
					t.Errorf("directory holds %v, want only acme.json", names)
				}
			},
		},
		{
			desc:    "a leftover temporary file of a crash is ignored and the old data kept",
			initial: []byte(`{"le":{"Certificates":[{"domain":{"main":"old.test"}}]}}`),
			check: func(t *testing.T, fs *FileStorage, path string) {
				// A crash between writing the temporary file and the
				// rename leaves this behind; acme.json is intact.
				if err := os.WriteFile(filepath.Join(filepath.Dir(path), ".acme.json.tmp-123"), []byte(`{"le":`), 0o600); err != nil {
					t.Fatal(err)
				}
				got, err := fs.Load(ctx, "le")
				if err != nil || len(got.Certificates) != 1 || got.Certificates[0].Domain.Main != "old.test" {
					t.Errorf("got %+v, %v", got, err)
				}
				if fs.Corrupt() != nil {
					t.Error("reported corrupt")
				}
			},
		},
		{
			desc:    "empty file (touch acme.json) is an empty storage",
			initial: []byte{},
			check: func(t *testing.T, fs *FileStorage, path string) {
				got, err := fs.Load(ctx, "le")
				if err != nil || got.Account != nil || fs.Corrupt() != nil {
					t.Errorf("got %+v, %v, corrupt %v", got, err, fs.Corrupt())
				}
			},
		},
		{
			desc:    "corrupt file is moved aside, never overwritten",
			initial: []byte(`{"le": {"Account": `),
			check: func(t *testing.T, fs *FileStorage, path string) {
				got, err := fs.Load(ctx, "le")
				if err != nil || got.Account != nil {
					t.Fatalf("got %+v, %v; want an empty storage", got, err)
				}
				c := fs.Corrupt()
				if c == nil || c.Path != path || !strings.HasPrefix(c.MovedTo, path+".corrupt-20260102T030405Z") || c.Cause == nil {
					t.Fatalf("corrupt %+v", c)
				}
				if b, _ := os.ReadFile(c.MovedTo); string(b) != `{"le": {"Account": ` {
					t.Errorf("moved file holds %q", b)
				}
				if err := fs.Save(ctx, "le", sample("a.test")); err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(c.MovedTo); string(b) != `{"le": {"Account": ` {
					t.Errorf("moved file changed by a save: %q", b)
				}
			},
		},
		{
			desc:    "file readable by others still loads (with a warning) and is saved 0600",
			initial: []byte(`{}`),
			mode:    0o644,
			check: func(t *testing.T, fs *FileStorage, path string) {
				if _, err := fs.Load(ctx, "le"); err != nil {
					t.Fatal(err)
				}
				if err := fs.Save(ctx, "le", sample("a.test")); err != nil {
					t.Fatal(err)
				}
				if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
					t.Errorf("mode %v after save, want 0600", st.Mode().Perm())
				}
			},
		},
		{
			desc: "unreadable storage is never overwritten",
			check: func(t *testing.T, fs *FileStorage, path string) {
				// A directory where the file should be cannot be read.
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
				if _, err := fs.Load(ctx, "le"); err == nil {
					t.Fatal("Load succeeded")
				}
				if err := fs.Save(ctx, "le", sample("a.test")); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
					t.Errorf("Save: %v, want a refusal", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "acme.json")
			if tt.initial != nil {
				mode := tt.mode
				if mode == 0 {
					mode = 0o600
				}
				if err := os.WriteFile(path, tt.initial, mode); err != nil {
					t.Fatal(err)
				}
				_ = os.Chmod(path, mode)
			}
			fs := NewFileStorage(path, nil)
			fs.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
			tt.check(t, fs, path)
		})
	}
}

func TestResolverDataClone(t *testing.T) {
	d := sample("a.test")
	c := d.clone()
	c.Certificates[0].Key[0] = 'X'
	if !bytes.Equal(d.Certificates[0].Key, []byte("key")) {
		t.Error("clone shares memory")
	}
}
