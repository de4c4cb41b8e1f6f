package middleware

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// UnmatchedRoute is the route label of requests no chi route matched (404s,
// and anything served outside a chi router).
const UnmatchedRoute = "unmatched"

// Metrics records Prometheus metrics for HTTP requests:
//
//	http_requests_total{method,route,status}            counter
//	http_request_duration_seconds{method,route,status}  histogram
//
// route is the chi route pattern ("/api/v1/conversations/{id}"), never the
// raw path, and method is folded to "OTHER" for non-standard verbs, so the
// number of series stays bounded whatever clients send.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics creates the collectors and registers them with reg. Registering
// twice on one registry reuses the collectors already there (so two servers
// built in one test process share them); any other registration error is a
// programming error and panics, as prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	labels := []string{"method", "route", "status"}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests served, by method, chi route pattern and status code.",
	}, labels)
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Time to serve HTTP requests, by method, chi route pattern and status code.",
		Buckets: prometheus.DefBuckets,
	}, labels)
	return &Metrics{
		requests: register(reg, requests),
		duration: register(reg, duration),
	}
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// Middleware observes every request once next has returned, which is when
// chi has finished composing the route pattern across sub-routers. Mount it
// outside Recoverer so panics count as 500s.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)

		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" {
			route = UnmatchedRoute
		}
		lv := []string{methodLabel(r.Method), route, strconv.Itoa(status)}
		m.requests.WithLabelValues(lv...).Inc()
		m.duration.WithLabelValues(lv...).Observe(time.Since(start).Seconds())
	})
}

func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}
