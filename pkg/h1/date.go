package h1

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateValue is one second's formatted Date header value.
type dateValue struct {
	sec int64
	b   [len(http.TimeFormat)]byte
}

// curDate caches the formatted date: formatting with time.AppendFormat costs
// far more than the comparison of seconds, and every response needs a Date.
var curDate atomic.Pointer[dateValue]

// appendDate appends the current HTTP date (RFC 9110 IMF-fixdate) to dst.
func appendDate(dst []byte) []byte {
	now := time.Now()
	sec := now.Unix()
	d := curDate.Load()
	if d == nil || d.sec != sec {
		d = &dateValue{sec: sec}
		now.UTC().AppendFormat(d.b[:0], http.TimeFormat)
		curDate.Store(d)
	}
	return append(dst, d.b[:]...)
}
