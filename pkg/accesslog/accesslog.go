// Package accesslog writes one line per request in Traefik's formats: the
// "common" CLF line (with Traefik's request count, router, server URL and
// duration), "genericCLF", or JSON with Traefik's field names (ClientHost,
// DownstreamStatus, RouterName, ServiceURL, request_<Header>, ...).
//
// A line is formatted on the request's goroutine (the request and its
// headers are only valid until the handler returns) into a pooled buffer,
// then handed to a writer goroutine over a bounded channel. When the writer
// cannot keep up, lines are dropped and counted (Dropped) rather than
// making requests wait on the disk. The file is reopened on Reopen (SIGUSR1)
// so that logrotate can move it.
//
// Authorization and Proxy-Authorization values are never written, whatever
// the configuration says: a kept one is redacted. Cookie and Set-Cookie are
// redacted unless named explicitly with mode keep.
package accesslog

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/logs"
	"github.com/berthproxy/berth/pkg/reqinfo"
)

// Field modes of fields.defaultMode, fields.names and the headers options.
const (
	ModeKeep   = "keep"
	ModeDrop   = "drop"
	ModeRedact = "redact"
)

const redacted = "REDACTED"

type format uint8

const (
	formatCommon format = iota
	formatGenericCLF
	formatJSON
)

// defaultQueue is the channel size when bufferingSize is not set: enough
// to absorb a burst while the writer waits on a slow disk.
const defaultQueue = 1024

// Logger is an access log. Its methods are safe for concurrent use.
type Logger struct {
	format   format
	filter   filter
	fields   [numFields]uint8 // mode per field
	hdrMode  uint8            // default mode of headers
	hdrNames map[string]uint8 // canonical header name → mode

	out    io.Writer
	file   *logs.File // nil when writing to standard output
	ch     chan *[]byte
	reopen chan chan error
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	count   atomic.Uint64 // requests seen, for RequestCount
	dropped atomic.Uint64
}

const (
	modeKeep uint8 = iota
	modeDrop
	modeRedact
)

func parseMode(s string) (uint8, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", ModeKeep:
		return modeKeep, nil
	case ModeDrop:
		return modeDrop, nil
	case ModeRedact:
		return modeRedact, nil
	}
	return 0, fmt.Errorf("unknown mode %q (valid: keep, drop, redact)", s)
}

// New opens the access log of cfg. It writes to cfg.FilePath, or to
// standard output when it is empty.
func New(cfg *config.AccessLog) (*Logger, error) {
	l, err := newLogger(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.FilePath != "" {
		f, err := logs.OpenFile(cfg.FilePath)
		if err != nil {
			return nil, fmt.Errorf("accessLog.filePath: %v", err)
		}
		l.file = f
		l.out = f
	} else {
		l.out = os.Stdout
	}
	l.start(int(cfg.BufferingSize))
	return l, nil
}

// NewWriter is New writing to w instead of a file (for tests and embedding).
func NewWriter(cfg *config.AccessLog, w io.Writer) (*Logger, error) {
	l, err := newLogger(cfg)
	if err != nil {
		return nil, err
	}
	l.out = w
	l.start(int(cfg.BufferingSize))
	return l, nil
}

func newLogger(cfg *config.AccessLog) (*Logger, error) {
	if cfg == nil {
		cfg = &config.AccessLog{}
		cfg.SetDefaults()
	}
	l := &Logger{hdrMode: modeDrop, hdrNames: map[string]uint8{}}
	switch strings.ToLower(cfg.Format) {
	case "", "common":
		l.format = formatCommon
	case "genericclf":
		l.format = formatGenericCLF
	case "json":
		l.format = formatJSON
	default:
		return nil, fmt.Errorf("accessLog.format: unknown format %q (valid: common, genericCLF, json)", cfg.Format)
	}
	if f := cfg.Filters; f != nil {
		flt, err := newFilter(f)
		if err != nil {
			return nil, err
		}
		l.filter = flt
	}
	if f := cfg.Fields; f != nil {
		def, err := parseMode(f.DefaultMode)
		if err != nil {
			return nil, fmt.Errorf("accessLog.fields.defaultMode: %v", err)
		}
		for i := range l.fields {
			l.fields[i] = def
		}
		for name, m := range f.Names {
			idx, ok := fieldIndex(name)
			if !ok {
				return nil, fmt.Errorf("accessLog.fields.names: unknown field %q (valid: %s)", name, strings.Join(fieldNames[:], ", "))
			}
			mode, err := parseMode(m)
			if err != nil {
				return nil, fmt.Errorf("accessLog.fields.names.%s: %v", name, err)
			}
			l.fields[idx] = mode
		}
		if h := f.Headers; h != nil {
			if h.DefaultMode != "" {
				def, err := parseMode(h.DefaultMode)
				if err != nil {
					return nil, fmt.Errorf("accessLog.fields.headers.defaultMode: %v", err)
				}
				l.hdrMode = def
			}
			for name, m := range h.Names {
				mode, err := parseMode(m)
				if err != nil {
					return nil, fmt.Errorf("accessLog.fields.headers.names.%s: %v", name, err)
				}
				l.hdrNames[http.CanonicalHeaderKey(name)] = mode
			}
		}
	}
	return l, nil
}

// headerMode returns how a header is written: its configured mode, with
// credentials always redacted and cookies redacted unless kept by name.
func (l *Logger) headerMode(name string) uint8 {
	m, named := l.hdrNames[name]
	if !named {
		m = l.hdrMode
	}
	if m == modeDrop {
		return m
	}
	switch name {
	case "Authorization", "Proxy-Authorization":
		return modeRedact
	case "Cookie", "Set-Cookie":
		if !named {
			return modeRedact
		}
	}
	return m
}

func (l *Logger) start(buffering int) {
	if buffering <= 0 {
		buffering = defaultQueue
	}
	l.ch = make(chan *[]byte, buffering)
	l.reopen = make(chan chan error)
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	go l.writeLoop()
}

// flushDelay bounds how long a written line may wait in the buffer. Flushing
// after every burst would cost a write system call per request under load;
// waiting a little lets lines from many requests leave in one write.
const flushDelay = 50 * time.Millisecond

// writeLoop writes queued lines through a 64 KiB buffer, which is flushed
// when full, flushDelay after the first unflushed line, on Reopen and on
// Close.
func (l *Logger) writeLoop() {
	defer close(l.done)
	bw := bufio.NewWriterSize(l.out, 64<<10)
	write := func(b *[]byte) {
		_, _ = bw.Write(*b)
		putBuf(b)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	pending := false
	for {
		select {
		case b := <-l.ch:
			write(b)
			for len(l.ch) > 0 {
				write(<-l.ch)
			}
			if !pending && bw.Buffered() > 0 {
				pending = true
				timer.Reset(flushDelay)
			}
		case <-timer.C:
			pending = false
			_ = bw.Flush()
		case reply := <-l.reopen:
			_ = bw.Flush()
			var err error
			if l.file != nil {
				err = l.file.Reopen()
			}
			reply <- err
		case <-l.stop:
			for len(l.ch) > 0 {
				write(<-l.ch)
			}
			_ = bw.Flush()
			return
		}
	}
}

// Reopen flushes the lines written so far and reopens the file (after
// logrotate renamed it). It does nothing more when writing to stdout.
func (l *Logger) Reopen() error {
	reply := make(chan error, 1)
	select {
	case l.reopen <- reply:
		return <-reply
	case <-l.done:
		return nil
	}
}

// Close writes the queued lines and closes the file.
func (l *Logger) Close() error {
	l.once.Do(func() { close(l.stop) })
	<-l.done
	if l.file != nil {
		return l.file.Close()
	}
	return nil
}

// Dropped is the number of lines dropped because the queue was full.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Log writes the line of one finished request. respHeader is the header
// map of the response sent. It must be called before the handler returns.
func (l *Logger) Log(r *http.Request, rec *reqinfo.Record, respHeader http.Header) {
	n := l.count.Add(1)
	end := rec.EndTime()
	d := end.Sub(rec.Start)
	if !l.filter.keep(rec, d) {
		return
	}
	b := getBuf()
	e := entry{l: l, r: r, rec: rec, resp: respHeader, d: d, n: n}
	switch l.format {
	case formatJSON:
		*b = e.appendJSON((*b)[:0])
	default:
		*b = e.appendCLF((*b)[:0], l.format == formatCommon)
	}
	select {
	case l.ch <- b:
	default:
		l.dropped.Add(1)
		putBuf(b)
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return // a huge line must not pin a huge buffer
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// filter decides which requests are logged. With no filter, all are; with
// filters, a request is logged when any of them matches, as in Traefik.
type filter struct {
	on      bool
	ranges  [][2]int
	retries bool
	minDur  time.Duration
}

func newFilter(f *config.AccessLogFilters) (filter, error) {
	flt := filter{retries: f.RetryAttempts, minDur: f.MinDuration.D()}
	for _, s := range f.StatusCodes {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || a < 100 || b > 999 || a > b {
			return flt, fmt.Errorf("accessLog.filters.statusCodes: %q is not a status code or range such as \"400-499\"", s)
		}
		flt.ranges = append(flt.ranges, [2]int{a, b})
	}
	flt.on = len(flt.ranges) > 0 || flt.retries || flt.minDur > 0
	return flt, nil
}

func (f *filter) keep(rec *reqinfo.Record, d time.Duration) bool {
	if !f.on {
		return true
	}
	status := rec.Status
	if status == 0 {
		status = http.StatusOK
	}
	for _, rg := range f.ranges {
		if status >= rg[0] && status <= rg[1] {
			return true
		}
	}
	if f.retries && rec.RetryAttempts > 0 {
		return true
	}
	return f.minDur > 0 && d > f.minDur
}
