// Package metrics holds lakegate's Prometheus metrics: one registry per
// process, served at /metrics on the REST listener to catalog admins and
// the system token, and without authentication on a metrics address of
// the operator's choosing (rest.metrics_addr; proxy.metrics_addr in
// nScale mode), and the counters every cache shares, so that each cache is
// one label value of the same metric families.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is the process's registry: Go runtime and process collectors
// plus everything lakegate registers.
var Registry = func() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	r.MustRegister(cacheHits, cacheMisses, cacheEvictions)
	return r
}()

// Handler serves Registry in the Prometheus exposition format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}

var (
	cacheHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lakegate", Subsystem: "cache", Name: "hits_total",
		Help: "Lookups answered from the cache.",
	}, []string{"cache"})
	cacheMisses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lakegate", Subsystem: "cache", Name: "misses_total",
		Help: "Lookups the cache could not answer.",
	}, []string{"cache"})
	cacheEvictions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lakegate", Subsystem: "cache", Name: "evictions_total",
		Help: "Entries removed before use: expired, invalidated by a change, or pushed out by size.",
	}, []string{"cache"})
)

// Cache is the hit, miss and eviction counters of one named cache.
type Cache struct {
	Hits, Misses, Evictions prometheus.Counter
}

// NewCache returns the counters of the cache called name (e.g.
// "user_permission"). Caches with the same name share counters.
func NewCache(name string) Cache {
	return Cache{
		Hits:      cacheHits.WithLabelValues(name),
		Misses:    cacheMisses.WithLabelValues(name),
		Evictions: cacheEvictions.WithLabelValues(name),
	}
}
