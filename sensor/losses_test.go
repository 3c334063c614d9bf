package sensor

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
)

func TestLossTrackerReports(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tr := newLossTracker(t0, lossCounters{kernelLost: 100})

	if _, due := tr.check(at(1), lossCounters{kernelLost: 100}); due {
		t.Fatal("report with nothing lost")
	}
	// The first loss is reported at once, with its window.
	r, due := tr.check(at(2), lossCounters{kernelLost: 105, serialGaps: 5})
	if !due || *r.KernelLost.Count != 5 || *r.SerialGaps.Count != 5 || *r.SocketOverruns.Count != 0 ||
		!r.Start.Equal(at(1)) || !r.End.Equal(at(2)) || r.Final {
		t.Fatalf("first loss: due %v report %+v", due, r)
	}
	// More losses within the minute wait, then come in one report.
	if _, due := tr.check(at(30), lossCounters{kernelLost: 110, serialGaps: 5}); due {
		t.Fatal("second report within a minute")
	}
	if _, due := tr.check(at(50), lossCounters{kernelLost: 120, serialGaps: 5, connectorOverruns: 2}); due {
		t.Fatal("second report within a minute")
	}
	r, due = tr.check(at(62), lossCounters{kernelLost: 120, serialGaps: 5, connectorOverruns: 2})
	if !due || *r.KernelLost.Count != 15 || *r.ConnectorOverruns.Count != 2 || !r.Start.Equal(at(2)) || !r.End.Equal(at(62)) {
		t.Fatalf("second report: due %v %+v", due, r)
	}
	// Quiet again: nothing.
	if _, due := tr.check(at(200), lossCounters{kernelLost: 120, serialGaps: 5, connectorOverruns: 2}); due {
		t.Fatal("report with nothing new lost")
	}
	// The stop record totals the run.
	f := tr.final(at(300), lossCounters{kernelLost: 120, serialGaps: 5, connectorOverruns: 2})
	if !f.Final || *f.KernelLost.Count != 20 || *f.SerialGaps.Count != 5 || *f.ConnectorOverruns.Count != 2 ||
		!f.Start.Equal(t0) || !f.End.Equal(at(300)) {
		t.Fatalf("final %+v", f)
	}
}

// TestLossReportUnknownCount: a counter that cannot be read is null with
// the reason, in the report and in its JSON.
func TestLossReportUnknownCount(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	tr := newLossTracker(t0, lossCounters{})
	r, due := tr.check(t0.Add(time.Second), lossCounters{socketOverruns: 1, kernelErr: errors.New("netlink: timeout")})
	if !due || r.KernelLost.Count != nil || !strings.Contains(r.KernelLost.Reason, "netlink: timeout") {
		t.Fatalf("due %v %+v", due, r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"kernel_lost":{"count":null,"reason":"reading the kernel's audit status failed: netlink: timeout"}`) ||
		!strings.Contains(string(b), `"socket_overruns":{"count":1}`) {
		t.Errorf("JSON %s", b)
	}
	f := tr.final(t0.Add(2*time.Second), lossCounters{socketOverruns: 1})
	if *f.KernelLost.Count != 0 || *f.SocketOverruns.Count != 1 {
		t.Errorf("final %+v", f)
	}
}

// TestLossTrackerBlindWindows: blind windows are a loss of their own in
// the report, with their span (from the first one's start) and length,
// and the stop record totals them.
func TestLossTrackerBlindWindows(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tr := newLossTracker(t0, lossCounters{kernelLost: 7})
	read := func() lossCounters {
		return lossCounters{kernelLost: 7, blindWindows: tr.blindWindows, blindNanos: tr.blindNanos}
	}
	if _, due := tr.check(at(1000), read()); due {
		t.Fatal("report with nothing lost")
	}
	// An augenrules --load at 1.5 s, put back at 2.1 s, seen by the 3 s check.
	tr.addBlind([]audit.BlindWindow{{From: at(1500), To: at(2100), What: "the sensor's rules removed"}})
	r, due := tr.check(at(3000), read())
	if !due || !r.Any() || r.BlindWindows.Count == nil || *r.BlindWindows.Count != 1 || r.BlindWindows.Seconds != 0.6 ||
		!r.BlindWindows.From.Equal(at(1500)) || !r.BlindWindows.To.Equal(at(2100)) || !r.Start.Equal(at(1000)) ||
		*r.KernelLost.Count != 0 || len(r.BlindWindows.What) != 1 {
		t.Fatalf("blind window report: due %v %+v", due, r.BlindWindows)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"blind_windows":{"count":1,"seconds":0.6,"from":"`) {
		t.Errorf("JSON %s", b)
	}
	// A window that began before the previous check starts the report.
	tr.addBlind([]audit.BlindWindow{{From: at(2500), To: at(65_000), What: "audit disabled"}})
	r, due = tr.check(at(66_000), read())
	if !due || *r.BlindWindows.Count != 1 || !r.Start.Equal(at(2500)) {
		t.Fatalf("second report: due %v start %v %+v", due, r.Start, r.BlindWindows)
	}
	// Nothing new: no report, and the count is known and 0.
	if _, due := tr.check(at(200_000), read()); due {
		t.Fatal("report with nothing new")
	}
	f := tr.final(at(300_000), read())
	if !f.Any() || *f.BlindWindows.Count != 2 || f.BlindWindows.Seconds != 63.1 || !f.BlindWindows.From.Equal(at(1500)) ||
		!f.BlindWindows.To.Equal(at(65_000)) || len(f.BlindWindows.What) != 2 {
		t.Errorf("final %+v", f.BlindWindows)
	}
	quiet := newLossTracker(t0, lossCounters{}).final(at(1), lossCounters{})
	if quiet.Any() || quiet.BlindWindows.Count == nil || *quiet.BlindWindows.Count != 0 || quiet.BlindWindows.From != nil {
		t.Errorf("quiet run's final %+v", quiet.BlindWindows)
	}
}

// TestLossTrackerLateSerial: a serial gap already reported whose record
// arrives after all (the session's count goes down) does not hide a new
// gap after it, and the stop record counts what is still missing.
func TestLossTrackerLateSerial(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tr := newLossTracker(t0, lossCounters{})
	if r, due := tr.check(at(1), lossCounters{serialGaps: 1}); !due || *r.SerialGaps.Count != 1 {
		t.Fatalf("first gap: due %v %+v", due, r.SerialGaps)
	}
	// It came late (count 0), then a new one went missing (count 1).
	if _, due := tr.check(at(2), lossCounters{serialGaps: 0}); due {
		t.Fatal("a loss taken back made a report")
	}
	r, due := tr.check(at(70), lossCounters{serialGaps: 1})
	if !due || *r.SerialGaps.Count != 1 {
		t.Fatalf("the new gap after a late one: due %v %+v", due, r.SerialGaps)
	}
	if f := tr.final(at(80), lossCounters{serialGaps: 1}); *f.SerialGaps.Count != 1 {
		t.Errorf("final serial gaps %d, want 1", *f.SerialGaps.Count)
	}
	if f := newLossTracker(t0, lossCounters{serialGaps: 3}).final(at(1), lossCounters{serialGaps: 1}); *f.SerialGaps.Count != 0 {
		t.Errorf("final below the start: %d, want 0", *f.SerialGaps.Count)
	}
}
