// Package logs builds berth's own logger (zap) from the static `log`
// section: level, format and file.
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

// New returns the logger and a function that flushes and closes it. A nil
// cfg means Traefik's defaults: ERROR level, console format, standard error.
func New(cfg *config.Log) (*zap.Logger, func(), error) {
	if cfg == nil {
		cfg = &config.Log{}
		cfg.SetDefaults()
	}
	level, err := ParseLevel(cfg.Level)
	if err != nil {
		return nil, nil, err
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
		return nil, nil, fmt.Errorf("unknown log format %q (valid: common, json)", cfg.Format)
	}
	out := zapcore.Lock(os.Stderr)
	closeFn := func() {}
	if cfg.FilePath != "" {
		f, err := os.OpenFile(cfg.FilePath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, err
		}
		out = zapcore.Lock(f)
		closeFn = func() { _ = f.Close() }
	}
	logger := zap.New(zapcore.NewCore(enc, out, zap.NewAtomicLevelAt(level)))
	return logger, func() { _ = logger.Sync(); closeFn() }, nil
}
