package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthproxy/berth/pkg/reqinfo"
)

// methods are the methods that get their own label value; any other method
// is counted as "OTHER", so that a client sending random methods cannot
// create unbounded series.
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "OTHER"}

const methodOther = len(methods) - 1

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "DELETE":
		return 4
	case "PATCH":
		return 5
	case "OPTIONS":
		return 6
	case "CONNECT":
		return 7
	case "TRACE":
		return 8
	}
	return methodOther
}

// series are the resolved children of one (method, protocol, code).
type series struct {
	key       uint32
	reqs      prometheus.Counter
	dur       prometheus.Observer
	reqBytes  prometheus.Counter
	respBytes prometheus.Counter
}

// cacheSlots is the size of the lock-free series table of an observer: a
// router rarely sees more than a handful of (method, code) pairs, so 64
// slots hold them all; more spill into a locked map.
const cacheSlots = 64

// Observer counts the requests of one entrypoint, router or service. It is
// safe for concurrent use; Observe does not allocate once a combination of
// method, protocol and code has been seen.
type Observer struct {
	vecs   *requestVecs // nil: no Prometheus series for this family
	labels []string     // the family's own label values (entrypoint, router+service, service)

	requests atomic.Uint64
	classes  [6]atomic.Uint64 // 1xx..5xx, then anything else
	durNanos atomic.Uint64

	retries prometheus.Counter // services only

	slots [cacheSlots]atomic.Pointer[series]
	mu    sync.Mutex
	spill map[uint32]*series
}

// Observe records one request. code is the status sent to the client
// (0 counts as 200: nothing was written), d how long it took, and reqBytes
// and respBytes the body sizes (a negative reqBytes, an unknown length,
// counts as 0).
func (o *Observer) Observe(method string, proto reqinfo.Protocol, code int, d time.Duration, reqBytes, respBytes int64) {
	if o == nil {
		return
	}
	if code == 0 {
		code = 200
	}
	o.requests.Add(1)
	if c := code/100 - 1; c >= 0 && c < 5 {
		o.classes[c].Add(1)
	} else {
		o.classes[5].Add(1)
	}
	if d > 0 {
		o.durNanos.Add(uint64(d))
	}
	if o.vecs == nil {
		return
	}
	s := o.series(methodIndex(method), proto, code)
	s.reqs.Inc()
	s.dur.Observe(d.Seconds())
	if reqBytes > 0 {
		s.reqBytes.Add(float64(reqBytes))
	}
	if respBytes > 0 {
		s.respBytes.Add(float64(respBytes))
	}
}

// Retried counts n retries of a service.
func (o *Observer) Retried(n int) {
	if o != nil && o.retries != nil && n > 0 {
		o.retries.Add(float64(n))
	}
}

// Stats returns the plain counters.
func (o *Observer) Stats() Stats {
	s := Stats{Requests: o.requests.Load(), DurationSeconds: float64(o.durNanos.Load()) / 1e9}
	for i := range o.classes {
		if n := o.classes[i].Load(); n > 0 {
			if s.ByClass == nil {
				s.ByClass = map[string]uint64{}
			}
			name := "other"
			if i < 5 {
				name = string(rune('1'+i)) + "xx"
			}
			s.ByClass[name] = n
		}
	}
	return s
}

// series finds or creates the children for a combination. The key packs
// code (10 bits), method (4 bits) and protocol (2 bits).
func (o *Observer) series(m int, proto reqinfo.Protocol, code int) *series {
	if code < 0 || code > 999 {
		code = 999
	}
	key := uint32(code) | uint32(m)<<10 | uint32(proto&3)<<14 | 1<<16
	h := (key * 2654435761) >> (32 - 6)
	for i := uint32(0); i < cacheSlots; i++ {
		slot := &o.slots[(h+i)%cacheSlots]
		s := slot.Load()
		if s == nil {
			break
		}
		if s.key == key {
			return s
		}
	}
	return o.slowSeries(key, h, m, proto, code)
}

func (o *Observer) slowSeries(key, h uint32, m int, proto reqinfo.Protocol, code int) *series {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s, ok := o.spill[key]; ok {
		return s
	}
	for i := uint32(0); i < cacheSlots; i++ {
		slot := &o.slots[(h+i)%cacheSlots]
		s := slot.Load()
		if s != nil && s.key == key {
			return s
		}
		if s == nil {
			s = o.resolve(key, m, proto, code)
			slot.Store(s)
			return s
		}
	}
	s := o.resolve(key, m, proto, code)
	if o.spill == nil {
		o.spill = map[uint32]*series{}
	}
	o.spill[key] = s
	return s
}

func (o *Observer) resolve(key uint32, m int, proto reqinfo.Protocol, code int) *series {
	lv := make([]string, 0, 3+len(o.labels))
	lv = append(lv, CodeString(code), methods[m], proto.String())
	lv = append(lv, o.labels...)
	return &series{
		key:       key,
		reqs:      o.vecs.reqs.WithLabelValues(lv...),
		dur:       o.vecs.dur.WithLabelValues(lv...),
		reqBytes:  o.vecs.reqBytes.WithLabelValues(lv...),
		respBytes: o.vecs.respBytes.WithLabelValues(lv...),
	}
}
