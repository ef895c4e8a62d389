package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// ACMEStats are one certificate resolver's totals, as pkg/acme reports
// them; metrics defines its own type so that it does not depend on the
// ACME client.
type ACMEStats struct {
	Resolver                string
	Orders, Issued, Renewed uint64
	Failures                map[string]uint64 // by kind ("rateLimited", ...)
	Certificates, Pending   int
}

// SetACME tells the registry how to read the ACME totals; they are read at
// scrape time.
func (r *Registry) SetACME(f func() []ACMEStats) {
	if r.reg == nil {
		return
	}
	r.reg.MustRegister(acmeCollector{ns: r.opts.Namespace, read: f})
}

// acmeCollector exports the ACME totals at scrape time.
type acmeCollector struct {
	ns   string
	read func() []ACMEStats
}

func (c acmeCollector) desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(c.ns, "acme", name), help, labels, nil)
}

func (c acmeCollector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(c, ch)
}

func (c acmeCollector) Collect(ch chan<- prometheus.Metric) {
	orders := c.desc("orders_total", "How many certificate orders the resolver placed.", "resolver")
	issued := c.desc("certificates_obtained_total", "How many certificates the resolver obtained, by reason.", "resolver", "reason")
	failures := c.desc("failures_total", "How many ACME attempts failed, by kind of failure.", "resolver", "kind")
	certs := c.desc("certificates", "How many domain sets have a certificate (ok) or still wait for one (pending).", "resolver", "state")
	for _, s := range c.read() {
		ch <- prometheus.MustNewConstMetric(orders, prometheus.CounterValue, float64(s.Orders), s.Resolver)
		ch <- prometheus.MustNewConstMetric(issued, prometheus.CounterValue, float64(s.Issued), s.Resolver, "new")
		ch <- prometheus.MustNewConstMetric(issued, prometheus.CounterValue, float64(s.Renewed), s.Resolver, "renewal")
		kinds := make([]string, 0, len(s.Failures))
		for k := range s.Failures {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			ch <- prometheus.MustNewConstMetric(failures, prometheus.CounterValue, float64(s.Failures[k]), s.Resolver, k)
		}
		ch <- prometheus.MustNewConstMetric(certs, prometheus.GaugeValue, float64(s.Certificates), s.Resolver, "ok")
		ch <- prometheus.MustNewConstMetric(certs, prometheus.GaugeValue, float64(s.Pending), s.Resolver, "pending")
	}
}
