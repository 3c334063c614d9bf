package sensor

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/alert"
	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/internal/apttest"
	"github.com/aptsentinel/aptsentinel/internal/audittest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
	"github.com/aptsentinel/aptsentinel/rules"
)

func TestMain(m *testing.M) { audittest.Main(m.Run) }

// alertSink collects alerts in memory.
type alertSink struct {
	mu     sync.Mutex
	alerts []alert.Alert
	got    chan struct{}
}

func (a *alertSink) WriteMatch(m rules.Match, h alert.Host) error {
	a.mu.Lock()
	a.alerts = append(a.alerts, alert.New(m, h, time.Now()))
	a.mu.Unlock()
	select {
	case a.got <- struct{}{}:
	default:
	}
	return nil
}

// readyHandler is a slog handler that closes ready on the "ready" record.
type readyHandler struct {
	slog.Handler
	once  *sync.Once
	ready chan struct{}
}

func (h readyHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "ready" {
		h.once.Do(func() { close(h.ready) })
	}
	return h.Handler.Handle(ctx, r)
}

// TestRunRealKernel runs the sensor in-process on the real kernel (the
// race detector sees its goroutines), runs a real apt with a connecting
// hook, and checks the alert and that the kernel is left as found.
func TestRunRealKernel(t *testing.T) {
	testenv.RequireRoot(t)
	before, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	sink := &alertSink{got: make(chan struct{}, 1)}
	ready := make(chan struct{})
	log := slog.New(readyHandler{Handler: slog.NewTextHandler(testWriter{t}, nil), once: &sync.Once{}, ready: ready})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	hook := make(chan struct{})
	hookCalls := 0
	readyFn := func() {
		hookCalls++ // the loop calls it: no lock needed beyond the channel's order
		select {
		case <-ready:
		default:
			t.Error("the Ready hook ran before the \"ready\" log record")
		}
		if hookCalls == 1 {
			close(hook)
		}
	}
	go func() { done <- Run(ctx, Config{Output: sink, Logger: log, Version: "test", Ready: readyFn}) }()
	select {
	case <-hook:
	case err := <-done:
		cancel()
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("not ready after 20s")
	}

	apttest.Update(t, "apt", "-o", apttest.PreInvoke(apttest.ConnectHook("1.1.1.1", 80)))
	// The hook's connect raises two alerts (below); wait for the seed
	// rule's, not just the first.
	waitSeed(sink, 5*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if hookCalls != 1 {
		t.Errorf("Ready hook called %d times, want once", hookCalls)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// The hook shell's child also raises 9277f4aa (any front end, any
	// descendant): count the seed rule's.
	seed := seedOf(sink.alerts)
	if len(seed) != 1 {
		for _, a := range sink.alerts {
			t.Logf("alert %s: process %s %v, parent %s %s %v", a.Rule.ID, a.Process.Name, a.Process.Args,
				a.Process.Parent.Name, a.Process.Parent.Executable, a.Process.Parent.Args)
		}
		t.Fatalf("%d alerts of the seed rule (of %d in all), want 1", len(seed), len(sink.alerts))
	}
	a := seed[0]
	if a.Process.Name != "sh" || a.Process.Parent.Name != "apt" || a.Destination == nil || a.Destination.IP != "1.1.1.1" {
		t.Errorf("alert: process %+v destination %+v", a.Process, a.Destination)
	}
	after, _ := audit.GetStatus()
	if after.PID != 0 || after.Enabled != before.Enabled {
		t.Errorf("after Run: audit pid %d enabled %d, want 0 and %d", after.PID, after.Enabled, before.Enabled)
	}
}

// seedOf returns the seed rule's alerts among alerts.
func seedOf(alerts []alert.Alert) []alert.Alert {
	var seed []alert.Alert
	for _, a := range alerts {
		if a.Rule.ID == rules.AptNetconID {
			seed = append(seed, a)
		}
	}
	return seed
}

// waitSeed waits until the sink has an alert of the seed rule, or d.
func waitSeed(sink *alertSink, d time.Duration) {
	deadline := time.After(d)
	for {
		sink.mu.Lock()
		n := len(seedOf(sink.alerts))
		sink.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-sink.got:
		case <-deadline:
			return
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
