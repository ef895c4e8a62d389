package file

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
)

// scanner lists, reads and decodes the configured files, remembering each
// file's state so that a re-scan decodes only files that changed and can
// fall back to a file's last good configuration.
type scanner struct {
	decode DecodeFunc
	logger *zap.Logger

	// file is the configured filename, "" in directory mode.
	file string
	// root is the configured directory, or the directory holding file.
	// parent is root's parent, watched so that root being removed and
	// re-created is noticed.
	root, parent string

	// watcher is nil when watch=false.
	watcher *fsnotify.Watcher
	// watched is the set of directories added to watcher.
	watched map[string]bool
	// watching is false when a watch that is needed could not be added
	// (the directory's parent does not exist, say); the provider then
	// re-scans periodically until it can.
	watching bool

	files map[string]*fileState
}

// fileState is what the scanner knows about one file.
type fileState struct {
	// stat identifies the version read last; a file whose stat is
	// unchanged and that no event named is not read again.
	info os.FileInfo
	// hash is the hash of the content decoded last; content that did not
	// change is not decoded again.
	hash [sha256.Size]byte

	// conf and issues are what the file contributes now.
	conf   *config.Dynamic
	issues []config.Issue

	// good and goodIssues are the last version that parsed, kept so that a
	// half-saved file does not take its routes down.
	good       *config.Dynamic
	goodIssues []config.Issue
}

func newScanner(opts config.FileProvider, decode DecodeFunc, logger *zap.Logger) *scanner {
	s := &scanner{decode: decode, logger: logger, watched: map[string]bool{}, files: map[string]*fileState{}}
	if opts.Filename != "" {
		s.file = filepath.Clean(opts.Filename)
		s.root = filepath.Dir(s.file)
	} else {
		s.root = filepath.Clean(opts.Directory)
	}
	s.parent = filepath.Dir(s.root)
	return s
}

// eventKind says what a file event calls for.
type eventKind int

const (
	// eventIgnore: nothing (an editor's temporary file, an unrelated
	// entry in the parent directory).
	eventIgnore eventKind = iota
	// eventFile: the named configuration file changed and must be read.
	eventFile
	// eventRescan: something else changed (a directory, a Kubernetes
	// ConfigMap's ..data symlink): re-list and read files whose stat
	// changed.
	eventRescan
)

// classify decides what an event calls for and drops watches on
// directories that are gone, so that a re-created directory is watched
// afresh by the next scan.
func (s *scanner) classify(ev fsnotify.Event) eventKind {
	name := filepath.Clean(ev.Name)
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if s.watched[name] && name != s.parent {
			// The kernel drops the watch of a removed directory itself;
			// Remove fails then, which is fine.
			_ = s.watcher.Remove(name)
			delete(s.watched, name)
		}
	}
	if name == s.root {
		return eventRescan
	}
	dir := filepath.Dir(name)
	if dir == s.parent && s.parent != s.root {
		// Of the parent's entries only root itself matters.
		return eventIgnore
	}
	base := filepath.Base(name)
	if isEditorTemp(base) {
		return eventIgnore
	}
	if s.file != "" {
		if name == s.file {
			return eventFile
		}
		// Another entry next to the file: it may be the ..data symlink
		// the file points through, so check the file's stat.
		return eventRescan
	}
	if isConfigFile(base) && !ev.Has(fsnotify.Chmod) {
		return eventFile
	}
	return eventRescan
}

// isConfigFile reports whether a directory entry is a configuration file
// that directory mode reads. The extensions are case-sensitive, as in
// Traefik.
func isConfigFile(base string) bool {
	if strings.HasPrefix(base, ".") {
		return false
	}
	switch filepath.Ext(base) {
	case ".yml", ".yaml", ".toml":
		return true
	}
	return false
}

// isEditorTemp reports whether a name is an editor's backup, lock or swap
// file, whose events never change the configuration.
func isEditorTemp(base string) bool {
	return strings.HasSuffix(base, "~") ||
		strings.HasPrefix(base, ".#") ||
		strings.HasSuffix(base, ".swp") ||
		strings.HasSuffix(base, ".swx") ||
		strings.HasSuffix(base, ".swpx") ||
		base == "4913" || // vim's probe for a writable directory
		strings.HasSuffix(base, "___jb_tmp___") ||
		strings.HasSuffix(base, "___jb_old___")
}

// scan lists the files, reads those that are named in force, are new or
// whose stat changed (all of them when force is nil), and returns the merged
// snapshot.
func (s *scanner) scan(force map[string]bool) config.Snapshot {
	all := force == nil
	var issues []config.Issue
	paths, listIssues := s.list()
	issues = append(issues, listIssues...)

	seen := make(map[string]bool, len(paths))
	var parts []part
	for _, path := range paths {
		st := s.load(path, all || force[path])
		if st == nil {
			continue
		}
		seen[path] = true
		if st.conf != nil {
			parts = append(parts, part{path: path, conf: st.conf})
		}
		issues = append(issues, st.issues...)
	}
	for path := range s.files {
		if !seen[path] {
			// Deleted: its objects go, and a file created again later
			// under the same name starts without a last good version.
			delete(s.files, path)
		}
	}

	conf, mergeIssues := merge(parts)
	issues = append(issues, mergeIssues...)
	for i := range issues {
		if issues[i].Provider == "" {
			issues[i].Provider = ProviderName
		}
	}
	return config.Snapshot{Provider: ProviderName, Config: conf, Issues: issues}
}

// list returns the configuration files to read, sorted by path, adding
// watches on the directories on the way.
func (s *scanner) list() ([]string, []config.Issue) {
	s.watching = true
	if s.watcher != nil && s.parent != s.root {
		s.addWatch(s.parent)
	}

	if s.file != "" {
		if s.watcher != nil {
			if _, err := os.Stat(s.root); err == nil {
				s.addWatch(s.root)
			}
		}
		if _, err := os.Stat(s.file); errors.Is(err, fs.ErrNotExist) {
			return nil, []config.Issue{{
				Source: s.file, Kind: "file", Fatal: true,
				Msg: "the file does not exist; the provider will pick it up when it is created",
			}}
		}
		return []string{s.file}, nil
	}

	var (
		paths  []string
		issues []config.Issue
		dirs   = map[string]bool{}
	)
	// The trailing separator makes WalkDir follow root when it is a
	// symlink to a directory (a common way to mount configuration); the
	// paths below root come out clean all the same.
	err := filepath.WalkDir(s.root+string(filepath.Separator), func(path string, d fs.DirEntry, err error) error {
		path = filepath.Clean(path)
		if err != nil {
			if path == s.root {
				return err
			}
			issues = append(issues, config.Issue{
				Source: path, Kind: "file", Fatal: true,
				Msg: "cannot read: " + err.Error(),
			})
			return nil
		}
		base := d.Name()
		if d.IsDir() {
			if path != s.root && strings.HasPrefix(base, ".") {
				// Dot directories are hidden: .git, and a ConfigMap's
				// ..data and ..<timestamp> which would otherwise be read
				// twice.
				return filepath.SkipDir
			}
			dirs[path] = true
			// Watch before listing the entries, so that a file created
			// while the directory is being listed is not missed.
			if s.watcher != nil {
				s.addWatch(path)
			}
			return nil
		}
		if !isConfigFile(base) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// Follow links to files (a ConfigMap's entries), never to
			// directories, which could loop.
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		paths = append(paths, path)
		return nil
	})
	if err != nil {
		msg := "cannot read the directory: " + err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "the directory does not exist; the provider will pick it up when it is created"
		}
		issues = append(issues, config.Issue{Source: s.root, Kind: "file", Fatal: true, Msg: msg})
	}
	// Forget watches on directories that are gone, so that they are added
	// again if the directories come back.
	for dir := range s.watched {
		if !dirs[dir] && dir != s.parent && (s.file == "" || dir != s.root) {
			_ = s.watcher.Remove(dir)
			delete(s.watched, dir)
		}
	}
	if s.watcher != nil && !s.watched[s.root] {
		if _, err := os.Stat(s.root); err == nil {
			// The root exists but could not be watched.
			s.watching = false
		}
	}
	sort.Strings(paths)
	return paths, issues
}

// addWatch watches dir unless it already is.
func (s *scanner) addWatch(dir string) {
	if s.watched[dir] {
		return
	}
	if err := s.watcher.Add(dir); err != nil {
		if dir == s.parent || !errors.Is(err, fs.ErrNotExist) {
			s.watching = false
		}
		s.logger.Debug("cannot watch directory", zap.String("directory", dir), zap.Error(err))
		return
	}
	s.watched[dir] = true
}

// load brings the state of one file up to date and returns it, or nil when
// the file is gone.
func (s *scanner) load(path string, force bool) *fileState {
	st := s.files[path]
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && info.IsDir() {
		return nil
	}
	if st != nil && err == nil && !force && sameStat(st.info, info) {
		return st
	}

	var data []byte
	if err == nil {
		data, err = os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	if st == nil {
		st = &fileState{}
		s.files[path] = st
	}
	st.info = info

	if err != nil {
		st.hash = [sha256.Size]byte{}
		s.use(st, path, nil, []config.Issue{{
			Source: path, Kind: "file", Fatal: true, Msg: "cannot read: " + err.Error(),
		}})
		return st
	}
	h := sha256.Sum256(data)
	if h == st.hash {
		// Same content (the file was touched or rewritten unchanged).
		// A new state's zero hash never matches.
		return st
	}
	st.hash = h
	conf, issues := s.decode(path, data)
	s.use(st, path, conf, issues)
	return st
}

// use records a decoded version of a file, or keeps the last good one when
// the file could not be parsed at all.
func (s *scanner) use(st *fileState, path string, conf *config.Dynamic, issues []config.Issue) {
	if !unparsable(issues) {
		st.conf, st.issues = conf, issues
		st.good, st.goodIssues = conf, issues
		return
	}
	if st.good == nil {
		// First load: there is nothing to fall back to.
		st.conf, st.issues = conf, issues
		return
	}
	s.logger.Warn("configuration file cannot be parsed; keeping its last good version", zap.String("file", path))
	st.conf = st.good
	st.issues = append(append([]config.Issue{}, issues...), config.Issue{
		Source: path, Provider: ProviderName, Kind: "file",
		Msg: "the last good version of this file is still in use until the error is fixed",
	})
	st.issues = append(st.issues, st.goodIssues...)
}

// unparsable reports whether the decoder could not parse the file at all,
// which it says with a fatal issue of kind "file".
func unparsable(issues []config.Issue) bool {
	for _, i := range issues {
		if i.Kind == "file" && i.Fatal {
			return true
		}
	}
	return false
}

// sameStat reports whether two stats describe the same version of a file.
// Comparing the file identity too catches a file replaced by rename, or a
// symlink switched to another target, with the same size and time.
func sameStat(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return false
	}
	return a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && a.Mode() == b.Mode() && os.SameFile(a, b)
}

// part is one file's contribution to the merge.
type part struct {
	path string
	conf *config.Dynamic
}
