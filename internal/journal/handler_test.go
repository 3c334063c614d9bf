package journal

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// captureSink keeps the entries a Handler writes, parsed.
type captureSink struct {
	mu      sync.Mutex
	entries [][]Field
}

func (c *captureSink) Enqueue(b []byte) {
	fields, err := Parse(b)
	if err != nil {
		panic(err) // a test failure: the handler wrote a broken entry
	}
	c.mu.Lock()
	c.entries = append(c.entries, fields)
	c.mu.Unlock()
}

// last returns the last entry as a map; a field sent twice fails the test.
func (c *captureSink) last(t *testing.T) map[string]string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == 0 {
		t.Fatal("no entry written")
	}
	m := map[string]string{}
	for _, f := range c.entries[len(c.entries)-1] {
		if _, dup := m[f.Name]; dup {
			t.Errorf("field %s written twice", f.Name)
		}
		m[f.Name] = f.Value
	}
	return m
}

func newTestHandler(sink Sink, level slog.Level) *Handler {
	return NewHandler(sink, HandlerOptions{Level: level, Identifier: "aptsentinel", Static: map[string]string{"APTSENTINEL_KIND": "log"}})
}

func TestHandlerFields(t *testing.T) {
	sink := &captureSink{}
	log := slog.New(newTestHandler(sink, slog.LevelDebug))
	log.Info("ready", "version", "dev", "processes", 112, "host-id", "abc", slog.Group("audit", "pid", 7))
	got := sink.last(t)
	want := map[string]string{
		"MESSAGE":               "ready",
		"PRIORITY":              "6",
		"SYSLOG_IDENTIFIER":     "aptsentinel",
		"APTSENTINEL_KIND":      "log",
		"APTSENTINEL_LEVEL":     "INFO",
		"APTSENTINEL_VERSION":   "dev",
		"APTSENTINEL_PROCESSES": "112",
		"APTSENTINEL_HOST_ID":   "abc",
		"APTSENTINEL_AUDIT_PID": "7",
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %q, want %q", name, got[name], v)
		}
	}
	if _, ok := got["MESSAGE_ID"]; ok {
		t.Error("a log record carries a MESSAGE_ID: it would pass for an alert")
	}
	if _, err := time.Parse(time.RFC3339Nano, got["APTSENTINEL_TIME"]); err != nil {
		t.Errorf("APTSENTINEL_TIME %q: %v", got["APTSENTINEL_TIME"], err)
	}
}

func TestHandlerPriorities(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug, "7"}, {slog.LevelDebug + 2, "7"}, {slog.LevelInfo, "6"}, {slog.LevelWarn, "4"},
		{slog.LevelError, "3"}, {slog.LevelError + 8, "3"},
	}
	for _, tt := range tests {
		sink := &captureSink{}
		slog.New(newTestHandler(sink, slog.LevelDebug)).Log(context.Background(), tt.level, "m")
		if got := sink.last(t)["PRIORITY"]; got != tt.want {
			t.Errorf("level %v: PRIORITY %s, want %s", tt.level, got, tt.want)
		}
	}
}

func TestHandlerLevelFilter(t *testing.T) {
	sink := &captureSink{}
	log := slog.New(newTestHandler(sink, slog.LevelWarn))
	log.Info("quiet")
	log.Warn("loud")
	if len(sink.entries) != 1 || sink.last(t)["MESSAGE"] != "loud" {
		t.Errorf("entries %v: want only the warning", sink.entries)
	}
}

// TestHandlerHostileAttrs: attribute keys and values come from the host
// (paths, comm, errors quoting them); none may forge a field.
func TestHandlerHostileAttrs(t *testing.T) {
	sink := &captureSink{}
	log := slog.New(newTestHandler(sink, slog.LevelInfo))
	log.Warn("msg\nPRIORITY=0", "comm", "x\nMESSAGE_ID=00000000000000000000000000000000", "PRIORITY", "0", "_PID", "1",
		"err", errors.New("bad\x00\xff"))
	got := sink.last(t)
	checks := map[string]string{
		"MESSAGE":              "msg\nPRIORITY=0",
		"PRIORITY":             "4",
		"APTSENTINEL_COMM":     "x\nMESSAGE_ID=00000000000000000000000000000000",
		"APTSENTINEL_PRIORITY": "0",
		"APTSENTINEL__PID":     "1",
		"APTSENTINEL_ERR":      "bad\x00\xff",
	}
	for name, v := range checks {
		if got[name] != v {
			t.Errorf("%s = %q, want %q", name, got[name], v)
		}
	}
	for _, name := range []string{"MESSAGE_ID", "_PID"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s forged", name)
		}
	}
}

func TestHandlerWithAttrsAndGroup(t *testing.T) {
	sink := &captureSink{}
	log := slog.New(newTestHandler(sink, slog.LevelInfo)).With("spool", "alerts").WithGroup("stats")
	log.Info("m", "dropped", 3)
	got := sink.last(t)
	if got["APTSENTINEL_SPOOL"] != "alerts" || got["APTSENTINEL_STATS_DROPPED"] != "3" {
		t.Errorf("fields %v", got)
	}
}

func TestHandlerRefusesBadStaticName(t *testing.T) {
	h := NewHandler(&captureSink{}, HandlerOptions{Identifier: "x", Static: map[string]string{"bad name": "v"}})
	if err := h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0)); err == nil {
		t.Error("an invalid static field name was accepted")
	}
}

type discardSink struct{}

func (discardSink) Enqueue([]byte) {}

func BenchmarkHandler(b *testing.B) {
	log := slog.New(newTestHandler(discardSink{}, slog.LevelInfo))
	b.ReportAllocs()
	for b.Loop() {
		log.Info("ready", "version", "dev", "processes", 112, "audit_records", 106)
	}
}
