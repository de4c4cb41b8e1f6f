package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape serves reg through promhttp, as /metrics will, and parses the text.
func scrape(t *testing.T, reg *prometheus.Registry) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text := rec.Body.String()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse scrape: %v\n%s", err, text)
	}
	return text, fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)

	r := chi.NewRouter()
	r.Use(m.Middleware)
	r.Route("/api/v1", func(r chi.Router) {
		r.Route("/conversations", func(r chi.Router) {
			r.Get("/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) })
			r.Post("/{id}/takeover", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusConflict) })
		})
	})

	requests := []struct{ method, path string }{
		{http.MethodGet, "/api/v1/conversations/c-1"},
		{http.MethodGet, "/api/v1/conversations/c-2?token=abc"},
		{http.MethodPost, "/api/v1/conversations/c-3/takeover"},
		{http.MethodGet, "/random/probe/1"},
		{http.MethodGet, "/random/probe/2"},
		{"BREW", "/api/v1/conversations/c-4"},
	}
	for _, rq := range requests {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(rq.method, rq.path, nil))
	}

	text, fams := scrape(t, reg)
	for _, raw := range []string{"c-1", "c-2", "c-3", "/random/probe", "BREW", "token"} {
		if strings.Contains(text, raw) {
			t.Errorf("scrape contains raw request data %q", raw)
		}
	}

	counter := fams["http_requests_total"]
	if counter == nil {
		t.Fatalf("http_requests_total missing; have %v", fams)
	}
	got := map[[3]string]float64{}
	for _, mt := range counter.GetMetric() {
		l := labelsOf(mt)
		got[[3]string{l["method"], l["route"], l["status"]}] = mt.GetCounter().GetValue()
	}
	tests := []struct {
		name                  string
		method, route, status string
		want                  float64
	}{
		{name: "PatternNotPath", method: "GET", route: "/api/v1/conversations/{id}", status: "200", want: 2},
		{name: "NestedPattern", method: "POST", route: "/api/v1/conversations/{id}/takeover", status: "409", want: 1},
		{name: "NotFoundUnmatched", method: "GET", route: UnmatchedRoute, status: "404", want: 2},
		{name: "UnknownMethodFolded", method: "OTHER", route: UnmatchedRoute, status: "405", want: 1}, // chi matches no pattern for an unknown verb
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := got[[3]string{tt.method, tt.route, tt.status}]; v != tt.want {
				t.Errorf("http_requests_total{%s,%s,%s} = %v, want %v (all: %v)", tt.method, tt.route, tt.status, v, tt.want, got)
			}
		})
	}
	if len(got) != len(tests) {
		t.Errorf("got %d series, want %d: %v", len(got), len(tests), got)
	}

	hist := fams["http_request_duration_seconds"]
	if hist == nil || hist.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("http_request_duration_seconds missing or not a histogram")
	}
	var samples uint64
	for _, mt := range hist.GetMetric() {
		samples += mt.GetHistogram().GetSampleCount()
	}
	if samples != uint64(len(requests)) {
		t.Errorf("histogram holds %d samples, want %d", samples, len(requests))
	}
}

func TestNewMetrics_TwiceOnOneRegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg), NewMetrics(reg)
	h1, h2 := a.Middleware(okHandler), b.Middleware(okHandler)
	h1.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	h2.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	_, fams := scrape(t, reg)
	ms := fams["http_requests_total"].GetMetric()
	if len(ms) != 1 || ms[0].GetCounter().GetValue() != 2 {
		t.Errorf("shared counter = %v, want one series at 2", ms)
	}
}
