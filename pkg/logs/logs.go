// Package logs builds berth's own logger (zap) from the static `log`
// section: level, format and file. The level can change while berth runs
// (Logger.Level, served by the API at /api/log/level), and a log file can be
// reopened after logrotate moved it (Logger.Reopen, on SIGUSR1).
package logs

import (
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/berthproxy/berth/pkg/config"
)

// ParseLevel maps Traefik's level names to zap's.
func ParseLevel(s string) (zapcore.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "ERROR":
		return zapcore.ErrorLevel, nil
	case "TRACE", "DEBUG":
		return zapcore.DebugLevel, nil
	case "INFO":
		return zapcore.InfoLevel, nil
	case "WARN", "WARNING":
		return zapcore.WarnLevel, nil
	case "FATAL":
		return zapcore.FatalLevel, nil
	case "PANIC":
		return zapcore.PanicLevel, nil
	}
	return 0, fmt.Errorf("unknown log level %q (valid: TRACE, DEBUG, INFO, WARN, ERROR, FATAL, PANIC)", s)
}

// LevelName is the Traefik name of a zap level (DEBUG, INFO, ...).
func LevelName(l zapcore.Level) string { return l.CapitalString() }

// Logger is berth's logger with the handles to change it at runtime.
type Logger struct {
	*zap.Logger
	// Level is the level in force; setting it takes effect at once for
	// every named logger derived from this one.
	Level zap.AtomicLevel
	file  *File // nil when logging to standard error
}

// Reopen reopens the log file (after logrotate renamed it); it does
// nothing when logging to standard error.
func (l *Logger) Reopen() error {
	if l.file == nil {
		return nil
	}
	return l.file.Reopen()
}

// Close flushes and closes the logger.
func (l *Logger) Close() {
	_ = l.Sync()
	if l.file != nil {
		_ = l.file.Close()
	}
}

// Open builds the logger of a `log` section. A nil cfg means Traefik's
// defaults: ERROR level, console format, standard error.
func Open(cfg *config.Log) (*Logger, error) {
	if cfg == nil {
		cfg = &config.Log{}
		cfg.SetDefaults()
	}
	level, err := ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "time"
	encCfg.EncodeTime = zapcore.RFC3339TimeEncoder
	var enc zapcore.Encoder
	switch strings.ToLower(cfg.Format) {
	case "json":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "", "common", "console":
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("unknown log format %q (valid: common, json)", cfg.Format)
	}
	l := &Logger{Level: zap.NewAtomicLevelAt(level)}
	out := zapcore.Lock(os.Stderr)
	if cfg.FilePath != "" {
		f, err := OpenFile(cfg.FilePath)
		if err != nil {
			return nil, err
		}
		l.file = f
		out = zapcore.AddSync(f)
	}
	l.Logger = zap.New(zapcore.NewCore(enc, out, l.Level))
	return l, nil
}

// New returns the logger and a function that flushes and closes it; see
// Open for a logger whose level and file can change at runtime.
func New(cfg *config.Log) (*zap.Logger, func(), error) {
	l, err := Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	return l.Logger, l.Close, nil
}
