// Package file is the file provider: it reads dynamic configuration from one
// file (`filename`) or from every configuration file in a directory tree
// (`directory`), merges the files into one snapshot and, with watch=true,
// sends a new snapshot whenever the files change.
//
// The provider is built to keep sites up while people edit files: a file
// that cannot be parsed at all (for example an editor saving half a file)
// keeps its last good configuration, and an object defined differently in
// two files disables only that object.
package file

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/dynamic"
)

// ProviderName is the provider's namespace: objects from files are known as
// name@file.
const ProviderName = "file"

const (
	// debounce is how long the provider waits after a file event for more
	// events before re-reading: editors write a file in several steps
	// (truncate, write, rename), and reading after the burst avoids sending
	// intermediate states.
	debounce = 20 * time.Millisecond
	// maxDelay bounds the debounce when events keep coming (a file written
	// continuously), so that a change is never held back for long.
	maxDelay = 60 * time.Millisecond
	// retryDelay is how often the provider retries watching when the
	// configured directory (or its parent) does not exist, so that it is
	// picked up when it appears.
	retryDelay = time.Second
)

// DecodeFunc decodes one dynamic configuration file. It has the signature of
// dynamic.DecodeFile.
type DecodeFunc func(filename string, data []byte) (*config.Dynamic, []config.Issue)

// Provider reads dynamic configuration from files.
type Provider struct {
	opts   config.FileProvider
	logger *zap.Logger

	// Decode decodes one file; New sets it to dynamic.DecodeFile. Tests
	// replace it to exercise the provider independently of the decoder.
	// Set it before calling Run.
	Decode DecodeFunc
}

// New returns a file provider for the given static options.
func New(opts config.FileProvider, logger *zap.Logger) *Provider {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Provider{opts: opts, logger: logger.Named(ProviderName), Decode: dynamic.DecodeFile}
}

// Name returns "file".
func (p *Provider) Name() string { return ProviderName }

// Run sends a snapshot of the files and, with watch=true, a new one each
// time the merged configuration changes, until ctx is done. It returns an
// error when the options are invalid or the files cannot be watched.
func (p *Provider) Run(ctx context.Context, out chan<- config.Snapshot) error {
	if (p.opts.Filename == "") == (p.opts.Directory == "") {
		return errors.New(`file provider: set exactly one of the options "filename" and "directory"`)
	}
	decode := p.Decode
	if decode == nil {
		decode = dynamic.DecodeFile
	}
	s := newScanner(p.opts, decode, p.logger)

	if !p.opts.Watch {
		snap := s.scan(nil)
		select {
		case out <- snap:
		case <-ctx.Done():
			return nil
		}
		<-ctx.Done()
		return nil
	}

	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("file provider: cannot watch files: %w", err)
	}
	defer w.Close()
	s.watcher = w
	return p.watch(ctx, s, out)
}

// watch is Run's loop with watch=true: it sends the first snapshot, then
// re-scans after each burst of relevant file events.
func (p *Provider) watch(ctx context.Context, s *scanner, out chan<- config.Snapshot) error {
	var lastSent [sha256.Size]byte
	// send delivers snap unless it equals the last one sent; it returns
	// false when ctx is done.
	send := func(snap config.Snapshot, first bool) bool {
		h := snap.Hash()
		if !first && h == lastSent {
			return true
		}
		p.logger.Debug("sending configuration", zap.Int("issues", len(snap.Issues)))
		select {
		case out <- snap:
			lastSent = h
			return true
		case <-ctx.Done():
			return false
		}
	}

	// The scan adds the watches before it reads, so that a change made
	// between the scan and the first event is not lost.
	if !send(s.scan(nil), true) {
		return nil
	}

	debounceTimer := time.NewTimer(time.Hour)
	debounceTimer.Stop()
	retryTimer := time.NewTimer(time.Hour)
	retryTimer.Stop()
	if !s.watching {
		retryTimer.Reset(retryDelay)
	}

	var (
		pending    bool
		firstEvent time.Time
		dirty      = map[string]bool{}
		all        bool // re-read every file, not only dirty and changed ones
	)
	arm := func() {
		now := time.Now()
		if !pending {
			pending, firstEvent = true, now
			debounceTimer.Reset(debounce)
			return
		}
		// Extend the wait for more events, but never beyond maxDelay
		// after the first one.
		if wait := firstEvent.Add(maxDelay).Sub(now); wait > 0 {
			debounceTimer.Reset(min(debounce, wait))
		}
	}

	for {
		select {
		case <-ctx.Done():
			return nil

		case ev, ok := <-s.watcher.Events:
			if !ok {
				return errors.New("file provider: the file watcher stopped")
			}
			switch s.classify(ev) {
			case eventIgnore:
				continue
			case eventFile:
				dirty[filepath.Clean(ev.Name)] = true
			case eventRescan:
			}
			arm()

		case err, ok := <-s.watcher.Errors:
			if !ok {
				return errors.New("file provider: the file watcher stopped")
			}
			// An error usually means the kernel's event queue overflowed,
			// so events were lost: re-read everything to catch up.
			p.logger.Warn("file watcher error; re-reading all files", zap.Error(err))
			all = true
			arm()

		case <-retryTimer.C:
			arm()

		case <-debounceTimer.C:
			pending = false
			var force map[string]bool
			if !all {
				force = dirty
			}
			snap := s.scan(force)
			dirty, all = map[string]bool{}, false
			if !s.watching {
				retryTimer.Reset(retryDelay)
			}
			if !send(snap, false) {
				return nil
			}
		}
	}
}
