package sensor

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
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
