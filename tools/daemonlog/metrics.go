package daemonlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry exposes a daemon's counters for Prometheus: one metric per field of the
// struct stats returns, named nlkit_<daemon>_<json name>, read at each scrape. Unsigned
// fields are counters (the name gets _total), signed ones gauges (a number of things
// open now), named as Counters names them. help gives each metric's text, by that
// name (the Go field's name if absent).
func Registry(daemon string, stats func() any, help map[string]string) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	t := reflect.TypeOf(stats())
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("metrics: %v is no struct", t)
	}
	for _, f := range counterFields(t) {
		name, idx := f.name, f.index
		h := help[name]
		if h == "" {
			h = t.Field(idx).Name
		}
		value := func() float64 {
			return reflect.ValueOf(stats()).Field(idx).Convert(reflect.TypeOf(float64(0))).Float()
		}
		var c prometheus.Collector
		switch f.kind {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			c = prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "nlkit", Subsystem: daemon, Name: name + "_total", Help: h}, value)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
			c = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "nlkit", Subsystem: daemon, Name: name, Help: h}, value)
		default:
			continue
		}
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %s: %w", name, err)
		}
	}
	return reg, nil
}

// ServeMetrics serves reg on addr at /metrics until ctx ends. The listener is opened
// before it returns (an address in use is the caller's error), in the calling thread's
// network namespace.
func ServeMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("metrics for Prometheus", "url", "http://"+ln.Addr().String()+"/metrics")
	return nil
}
