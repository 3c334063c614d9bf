package journal

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeSender records what it is sent and fails while down is set.
type fakeSender struct {
	mu   sync.Mutex
	down bool
	sent []string
}

func (f *fakeSender) SendBytes(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return unix.ECONNREFUSED
	}
	f.sent = append(f.sent, string(b))
	return nil
}

func (f *fakeSender) setDown(d bool) {
	f.mu.Lock()
	f.down = d
	f.mu.Unlock()
}

func (f *fakeSender) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

// runSpool starts sp.Run and returns the function that stops it and waits.
func runSpool(sp *Spool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sp.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func quietLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, nil))
}

func TestSpoolDeliversInOrderAcrossAnOutage(t *testing.T) {
	var logs bytes.Buffer
	f := &fakeSender{down: true}
	sp := NewSpool(f, SpoolConfig{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Logger: quietLogger(&logs)})
	stop := runSpool(sp)
	for i := 0; i < 100; i++ {
		sp.Enqueue([]byte(strconv.Itoa(i)))
	}
	waitUntil(t, "a failed attempt", func() bool { return sp.Stats().Failures > 0 })
	f.setDown(false)
	waitUntil(t, "delivery", func() bool { return len(f.got()) == 100 })
	stop() // the spool's logger writes logs until then
	for i, s := range f.got() {
		if s != strconv.Itoa(i) {
			t.Fatalf("entry %d is %q: out of order", i, s)
		}
	}
	if st := sp.Stats(); st.Delivered != 100 || st.Dropped != 0 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
	for _, want := range []string{"journal unreachable", "journal reachable again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %q report in %s", want, logs.String())
		}
	}
}

func TestSpoolBoundsDropOldest(t *testing.T) {
	tests := []struct {
		name       string
		maxEntries int
		maxBytes   int
		entries    int
		size       int
		wantKept   int
	}{
		{"by count", 10, 1 << 20, 25, 10, 10},
		{"by bytes", 1000, 100, 25, 10, 10},
		{"one over the byte bound is kept", 1000, 5, 3, 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			f := &fakeSender{down: true}
			sp := NewSpool(f, SpoolConfig{MaxEntries: tt.maxEntries, MaxBytes: tt.maxBytes, RetryMin: time.Millisecond,
				RetryMax: time.Millisecond, Logger: quietLogger(&logs)})
			for i := 0; i < tt.entries; i++ {
				sp.Enqueue([]byte(strings.Repeat(strconv.Itoa(i%10), tt.size)))
			}
			st := sp.Stats()
			if st.Queued != tt.wantKept || st.Dropped != uint64(tt.entries-tt.wantKept) {
				t.Fatalf("stats %+v: want %d kept, %d dropped", st, tt.wantKept, tt.entries-tt.wantKept)
			}
			f.setDown(false)
			stop := runSpool(sp)
			waitUntil(t, "delivery", func() bool { return len(f.got()) == tt.wantKept })
			stop()
			// The newest survive: the last kept is the last enqueued.
			got := f.got()
			if last := got[len(got)-1]; last[0] != byte('0'+(tt.entries-1)%10) {
				t.Errorf("last delivered %q: the newest entry was dropped", last)
			}
			if !strings.Contains(logs.String(), "oldest entries dropped") {
				t.Errorf("drops not reported: %s", logs.String())
			}
		})
	}
}

func TestSpoolStopAbandonsAndReports(t *testing.T) {
	var logs bytes.Buffer
	f := &fakeSender{down: true}
	sp := NewSpool(f, SpoolConfig{RetryMin: time.Millisecond, DrainTimeout: 50 * time.Millisecond, Logger: quietLogger(&logs)})
	stop := runSpool(sp)
	sp.Enqueue([]byte("a"))
	sp.Enqueue([]byte("b"))
	start := time.Now()
	stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stop took %v with a 50ms drain timeout", d)
	}
	if st := sp.Stats(); st.Abandoned != 2 || st.Queued != 0 {
		t.Errorf("stats %+v: want 2 abandoned", st)
	}
	if !strings.Contains(logs.String(), "journal entries not delivered") || !strings.Contains(logs.String(), "abandoned=2") {
		t.Errorf("loss not reported: %s", logs.String())
	}
	// After stop, an entry is sent directly, once.
	sp.Enqueue([]byte("late"))
	if st := sp.Stats(); st.Abandoned != 3 {
		t.Errorf("late entry with journald down: stats %+v, want 3 abandoned", st)
	}
	f.setDown(false)
	sp.Enqueue([]byte("later"))
	if got := f.got(); len(got) != 1 || got[0] != "later" {
		t.Errorf("late entry with journald up: sent %q", got)
	}
}

func TestSpoolDrainsAtStop(t *testing.T) {
	f := &fakeSender{down: true}
	var logs bytes.Buffer
	sp := NewSpool(f, SpoolConfig{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, DrainTimeout: 5 * time.Second, Logger: quietLogger(&logs)})
	stop := runSpool(sp)
	sp.Enqueue([]byte("x"))
	waitUntil(t, "a failed attempt", func() bool { return sp.Stats().Failures > 0 })
	go func() { time.Sleep(50 * time.Millisecond); f.setDown(false) }()
	stop() // journald comes back during the drain
	if got := f.got(); len(got) != 1 {
		t.Errorf("drain delivered %q, want the queued entry", got)
	}
	if st := sp.Stats(); st.Abandoned != 0 {
		t.Errorf("stats %+v: nothing should be abandoned", st)
	}
}

func TestSpoolConcurrentEnqueue(t *testing.T) {
	f := &fakeSender{}
	sp := NewSpool(f, SpoolConfig{Logger: quietLogger(new(bytes.Buffer))})
	stop := runSpool(sp)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				sp.Enqueue([]byte("e"))
			}
		}()
	}
	wg.Wait()
	waitUntil(t, "delivery", func() bool { return sp.Stats().Delivered == 4000 })
	stop()
	if len(f.got()) != 4000 {
		t.Errorf("sent %d, want 4000", len(f.got()))
	}
}
