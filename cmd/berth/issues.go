package main

import (
	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
)

// issueLog logs configuration problems once: when they appear, and once
// more when they are gone. A busy Docker host delivers a new configuration
// with every container event, and repeating an unchanged bad label on each
// would bury it (and everything else) in the log.
type issueLog struct {
	logger *zap.Logger
	seen   map[string]bool
}

func newIssueLog(logger *zap.Logger) *issueLog {
	return &issueLog{logger: logger, seen: map[string]bool{}}
}

// update logs the problems of a newly applied configuration that the
// previous one did not have, and those that went away.
func (l *issueLog) update(issues []config.Issue) {
	now := make(map[string]bool, len(issues))
	for _, is := range issues {
		text := is.Error()
		if now[text] {
			continue
		}
		now[text] = true
		if l.seen[text] {
			continue
		}
		if is.Fatal {
			l.logger.Error("configuration problem", zap.String("problem", text))
		} else {
			l.logger.Warn("configuration warning", zap.String("problem", text))
		}
	}
	for text := range l.seen {
		if !now[text] {
			l.logger.Info("configuration problem resolved", zap.String("problem", text))
		}
	}
	l.seen = now
}
