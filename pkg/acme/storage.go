package acme

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
)

// Storage keeps ACME accounts and certificates across restarts. The file
// storage is the default; a shared, locked store for several replicas can
// implement the same interface.
//
// Implementations must be safe for concurrent use. Load and Save deal in
// whole ResolverData values: Save replaces what was stored for the
// resolver, and the caller does not modify a value after passing it to Save
// or receiving it from Load.
type Storage interface {
	// Load returns what is stored for a resolver; an empty value (not an
	// error) when nothing is.
	Load(ctx context.Context, resolver string) (*ResolverData, error)
	// Save replaces what is stored for a resolver, durably: when it
	// returns nil, a crash does not lose the data.
	Save(ctx context.Context, resolver string, data *ResolverData) error
}

// ResolverData is what is stored for one certificate resolver, in the
// shape of Traefik's acme.json.
type ResolverData struct {
	Account      *Account      `json:"Account,omitempty"`
	Certificates []*StoredCert `json:"Certificates"`
}

// Account is an ACME account: its key and registration URL.
type Account struct {
	Email        string        `json:"Email,omitempty"`
	Registration *Registration `json:"Registration,omitempty"`
	// PrivateKey is the account key, DER (PKCS#8; PKCS#1 and SEC 1 are
	// read too), base64 in JSON.
	PrivateKey []byte `json:"PrivateKey,omitempty"`
	KeyType    string `json:"KeyType,omitempty"`
	// CAServer is the directory URL the account belongs to (berth's
	// addition), so that switching from a staging to a production CA
	// registers a new account instead of failing with the old one.
	CAServer string `json:"CAServer,omitempty"`
}

// Registration is the account's URL at the CA, as Traefik stores it.
type Registration struct {
	URI string `json:"uri"`
}

// StoredCert is one certificate with its key, PEM (base64 in JSON).
type StoredCert struct {
	Domain      config.Domain `json:"domain"`
	Certificate []byte        `json:"certificate"`
	Key         []byte        `json:"key"`
	Store       string        `json:"Store,omitempty"`
}

// clone deep-copies data so that the storage and its callers never share
// slices.
func (d *ResolverData) clone() *ResolverData {
	if d == nil {
		return &ResolverData{}
	}
	b, _ := json.Marshal(d)
	var out ResolverData
	_ = json.Unmarshal(b, &out)
	return &out
}

// FileStorage stores every resolver that names the same file in that one
// JSON file, keyed by resolver name, like Traefik's acme.json.
//
// Writes are atomic: the whole file is written to a temporary file in the
// same directory with mode 0600, synced, and renamed over the old one, and
// the directory is synced; a crash leaves either the old or the new file,
// never a torn one.
//
// A file that does not parse is never overwritten: it is renamed to
// "<path>.corrupt-<timestamp>" (logged with the path and the cause, and
// reported by Corrupt), and the storage starts empty, so certificates are
// obtained again while the old data stays available for inspection. A file
// that cannot be read for another reason (permissions) makes every Load and
// Save fail until berth restarts, rather than risk replacing it.
type FileStorage struct {
	path   string
	logger *zap.Logger
	now    func() time.Time

	mu      sync.Mutex
	loaded  bool
	data    map[string]*ResolverData
	readErr error
	corrupt *CorruptFile
}

// CorruptFile describes a storage file that did not parse and was moved
// aside.
type CorruptFile struct {
	Path    string // the storage path
	MovedTo string // where the corrupt file now is
	Cause   error
}

// NewFileStorage returns the storage in the file at path. Nothing is read
// until the first Load or Save.
func NewFileStorage(path string, logger *zap.Logger) *FileStorage {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &FileStorage{path: path, logger: logger, now: time.Now}
}

// Path is the storage file.
func (f *FileStorage) Path() string { return f.path }

// Corrupt returns the corrupt file found when the storage was first read,
// or nil.
func (f *FileStorage) Corrupt() *CorruptFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.corrupt
}

// Load implements Storage.
func (f *FileStorage) Load(_ context.Context, resolver string) (*ResolverData, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ensureLoaded(); err != nil {
		return nil, err
	}
	return f.data[resolver].clone(), nil
}

// Save implements Storage.
func (f *FileStorage) Save(_ context.Context, resolver string, data *ResolverData) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ensureLoaded(); err != nil {
		return err
	}
	next := make(map[string]*ResolverData, len(f.data)+1)
	for k, v := range f.data {
		next[k] = v
	}
	next[resolver] = data.clone()
	b, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(f.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("acme storage %q: %w", f.path, err)
	}
	f.data = next
	return nil
}

// ensureLoaded reads the file once. f.mu is held.
func (f *FileStorage) ensureLoaded() error {
	if f.readErr != nil {
		return f.readErr
	}
	if f.loaded {
		return nil
	}
	f.data = map[string]*ResolverData{}
	b, err := os.ReadFile(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.loaded = true
		return nil
	case err != nil:
		f.readErr = fmt.Errorf("acme storage %q cannot be read, refusing to overwrite it: %w", f.path, err)
		f.logger.Error("cannot read the ACME storage", zap.String("path", f.path), zap.Error(err))
		return f.readErr
	}
	if st, err := os.Stat(f.path); err == nil && st.Mode().Perm()&0o077 != 0 {
		f.logger.Warn("the ACME storage is readable by others; it holds private keys and is rewritten with mode 0600 on the next save",
			zap.String("path", f.path), zap.String("mode", st.Mode().Perm().String()))
	}
	if len(b) == 0 {
		// An empty file is how Traefik users prepare acme.json
		// (touch acme.json; chmod 600 acme.json): it is not corrupt.
		f.loaded = true
		return nil
	}
	if err := json.Unmarshal(b, &f.data); err != nil {
		moved := fmt.Sprintf("%s.corrupt-%s", f.path, f.now().UTC().Format("20060102T150405Z"))
		if rerr := os.Rename(f.path, moved); rerr != nil {
			f.readErr = fmt.Errorf("acme storage %q is corrupt (%v) and cannot be moved aside (%v); refusing to overwrite it", f.path, err, rerr)
			f.logger.Error("the ACME storage is corrupt and cannot be moved aside; certificates will not be stored",
				zap.String("path", f.path), zap.NamedError("cause", err), zap.NamedError("renameError", rerr))
			return f.readErr
		}
		f.corrupt = &CorruptFile{Path: f.path, MovedTo: moved, Cause: err}
		f.logger.Error("the ACME storage is corrupt; it was moved aside and berth starts with an empty storage",
			zap.String("path", f.path), zap.String("movedTo", moved), zap.NamedError("cause", err))
		f.data = map[string]*ResolverData{}
	}
	for k, v := range f.data {
		if v == nil {
			delete(f.data, k)
		}
	}
	f.loaded = true
	return nil
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory (so that the rename stays on one file system), synced before
// the rename, then the directory synced so that the rename itself survives
// a power loss.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
