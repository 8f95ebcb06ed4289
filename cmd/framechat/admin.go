package main

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"
	"sync"

	chat "github.com/framechat/chat"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// health is what /healthz reports: the listeners up, and whether the
// cluster's Bus (if any) is connected.
type health struct {
	mu        sync.Mutex
	listeners map[string]string // listener name -> "" when up, else why it is down
	bus       bool              // a Bus is configured
	busUp     bool
	busWhy    string
}

func newHealth() *health { return &health{listeners: map[string]string{}} }

func (h *health) listenerUp(name string) {
	h.mu.Lock()
	h.listeners[name] = ""
	h.mu.Unlock()
}

func (h *health) listenerDown(name string, err error) {
	h.mu.Lock()
	h.listeners[name] = fmt.Sprintf("stopped: %v", err)
	h.mu.Unlock()
}

func (h *health) setBus(up bool, why string) {
	h.mu.Lock()
	h.bus, h.busUp, h.busWhy = true, up, why
	h.mu.Unlock()
}

// observe follows the Bus's EventBusDown and EventBusUp.
func (h *health) observe(e chat.Event) {
	switch e.Kind {
	case chat.EventBusDown:
		why := e.Text
		if e.Err != nil {
			why += fmt.Sprintf(" (%v)", e.Err)
		}
		h.setBus(false, why)
	case chat.EventBusUp:
		h.setBus(true, "")
	}
}

// problems returns why the server is not ready, or nothing.
func (h *health) problems() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var p []string
	for name, why := range h.listeners {
		if why != "" {
			p = append(p, name+" listener "+why)
		}
	}
	sort.Strings(p)
	if h.bus && !h.busUp {
		p = append(p, "cluster down: "+h.busWhy)
	}
	if len(h.listeners) == 0 {
		p = append(p, "no listener up yet")
	}
	return p
}

// ServeHTTP answers /healthz: 200 "ok", or 503 with one reason a line.
func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if p := h.problems(); len(p) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, strings.Join(p, "\n"))
		return
	}
	fmt.Fprintln(w, "ok")
}

// metrics is the server's Prometheus collector: the hub's counts, read
// from Hub.Stats at each scrape, and counters of its events, kept by
// Observe.
type metrics struct {
	hub           *chat.Hub // set once, before the admin listener serves
	busConfigured bool
	queueLimit    int
	history       historySizer // the rooms' history, if it can say its size; set with hub

	connects    *prometheus.CounterVec // by protocol
	disconnects *prometheus.CounterVec // by protocol and reason
	slow        *prometheus.CounterVec // by reason
	events      *prometheus.CounterVec // by kind
	busUp       prometheus.Gauge

	connsDesc, roomsDesc, membersDesc, messagesDesc, dropsDesc, parkedDesc, queueDesc *prometheus.Desc
	deliveriesDesc, queuedDesc                                                        *prometheus.Desc
	historyLinesDesc, historyBytesDesc                                                *prometheus.Desc

	mu   sync.Mutex
	open map[string]int // connections open now, by protocol
}

func newMetrics() *metrics {
	return &metrics{
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "framechat_connections_total",
			Help: "Connections accepted, by protocol."}, []string{"protocol"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "framechat_disconnections_total",
			Help: "Connections ended, by protocol and reason."}, []string{"protocol", "reason"}),
		slow: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "framechat_slow_consumer_disconnects_total",
			Help: "Clients disconnected for not reading, by reason (slow-queue, slow-write)."}, []string{"reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "framechat_events_total",
			Help: "Hub events, by kind (join, message, whisper, throttled, ...)."}, []string{"kind"}),
		busUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: "framechat_bus_up",
			Help: "1 while the cluster's NATS Bus is connected, 0 while it is down; absent without -nats."}),
		connsDesc: prometheus.NewDesc("framechat_connections",
			"Connections served now, by protocol.", []string{"protocol"}, nil),
		roomsDesc:    prometheus.NewDesc("framechat_rooms", "Rooms this server's users are in.", nil, nil),
		membersDesc:  prometheus.NewDesc("framechat_members", "Memberships of this server's users, over all rooms.", nil, nil),
		messagesDesc: prometheus.NewDesc("framechat_messages_total", "Chat lines and whispers said through this server.", nil, nil),
		dropsDesc:    prometheus.NewDesc("framechat_drops_total", "Connections dropped as slow consumers, and messages a bot could not take.", nil, nil),
		parkedDesc:   prometheus.NewDesc("framechat_parked_connections", "Idle connections with no goroutine reading them.", nil, nil),
		deliveriesDesc: prometheus.NewDesc("framechat_deliveries_total",
			"Room messages queued to this server's users: one per member a message reached.", nil, nil),
		queuedDesc:       prometheus.NewDesc("framechat_queued_bytes", "Bytes waiting now in the users' outbound queues.", nil, nil),
		historyLinesDesc: prometheus.NewDesc("framechat_history_lines", "Lines of history kept now, in all rooms; absent when history is off.", nil, nil),
		historyBytesDesc: prometheus.NewDesc("framechat_history_bytes",
			"Bytes of history (names and texts) kept now, in all rooms, counted against -history-bytes; absent when history is off.", nil, nil),
		queueDesc: prometheus.NewDesc("framechat_queue_limit_bytes", "Bytes a client may fall behind before it is disconnected (-queue; 0: the default, 64 KiB).", nil, nil),
		open:      map[string]int{},
	}
}

// Observe counts the hub's and the Bus's events.
func (m *metrics) Observe(e chat.Event) {
	m.events.WithLabelValues(e.Kind.String()).Inc()
	switch e.Kind {
	case chat.EventConnect:
		m.connects.WithLabelValues(e.Protocol).Inc()
		m.mu.Lock()
		m.open[e.Protocol]++
		m.mu.Unlock()
	case chat.EventDisconnect:
		m.disconnects.WithLabelValues(e.Protocol, e.Reason.String()).Inc()
		m.mu.Lock()
		if m.open[e.Protocol]--; m.open[e.Protocol] <= 0 {
			delete(m.open, e.Protocol)
		}
		m.mu.Unlock()
	case chat.EventSlowConsumer:
		m.slow.WithLabelValues(e.Reason.String()).Inc()
	case chat.EventBusDown:
		m.busUp.Set(0)
	case chat.EventBusUp:
		m.busUp.Set(1)
	}
}

// Describe sends the descriptions of every metric.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(m, ch)
}

// Collect sends the metrics now.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.connects.Collect(ch)
	m.disconnects.Collect(ch)
	m.slow.Collect(ch)
	m.events.Collect(ch)
	if m.busConfigured {
		m.busUp.Collect(ch)
	}
	ch <- prometheus.MustNewConstMetric(m.queueDesc, prometheus.GaugeValue, float64(m.queueLimit))
	m.mu.Lock()
	for p, n := range m.open {
		ch <- prometheus.MustNewConstMetric(m.connsDesc, prometheus.GaugeValue, float64(n), p)
	}
	m.mu.Unlock()
	if m.hub == nil {
		return
	}
	st := m.hub.Stats()
	ch <- prometheus.MustNewConstMetric(m.roomsDesc, prometheus.GaugeValue, float64(st.Rooms))
	ch <- prometheus.MustNewConstMetric(m.membersDesc, prometheus.GaugeValue, float64(st.Members))
	ch <- prometheus.MustNewConstMetric(m.messagesDesc, prometheus.CounterValue, float64(st.Messages))
	ch <- prometheus.MustNewConstMetric(m.dropsDesc, prometheus.CounterValue, float64(st.Drops))
	ch <- prometheus.MustNewConstMetric(m.parkedDesc, prometheus.GaugeValue, float64(st.Parked))
	ch <- prometheus.MustNewConstMetric(m.deliveriesDesc, prometheus.CounterValue, float64(st.Deliveries))
	ch <- prometheus.MustNewConstMetric(m.queuedDesc, prometheus.GaugeValue, float64(st.Queued))
	if m.history != nil {
		lines, bytes := m.history.Size()
		ch <- prometheus.MustNewConstMetric(m.historyLinesDesc, prometheus.GaugeValue, float64(lines))
		ch <- prometheus.MustNewConstMetric(m.historyBytesDesc, prometheus.GaugeValue, float64(bytes))
	}
}

// adminHandler serves /healthz, /metrics, /debug/pprof/ and /history
// (historyHandler) of m's hub.
func adminHandler(h *health, m *metrics) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := pprofHandler()
	mux.Handle("/healthz", h)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/history", historyHandler{m.hub})
	return mux
}

// pprofHandler serves net/http/pprof under /debug/pprof/.
func pprofHandler() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
