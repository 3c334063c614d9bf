package sensor

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/alert"
	"github.com/aptsentinel/aptsentinel/audit"
	"github.com/aptsentinel/aptsentinel/internal/ecstest"
	"github.com/aptsentinel/aptsentinel/rules"
)

// ownSensor is a sensor with an alert stage writing to out and the rules
// of set (the shipped ones, minus disabled).
func ownSensor(t *testing.T, out io.Writer, disable ...string) *sensor {
	t.Helper()
	tree, err := NewTree(testBoot, DefaultCacheSize)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(rules.LoadConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range disable {
		set.Disabled[id] = "test"
	}
	s := &sensor{
		cfg:  Config{Output: alert.NewStage(alert.NewLineWriter(out))},
		log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		host: Host{ID: "h1", Name: "vm"},
		tree: tree,
	}
	s.own.init(set.Enabled())
	return s
}

func alertDocs(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	return ecstest.Lines(t, b.String())
}

func TestLossAlertDocument(t *testing.T) {
	var b bytes.Buffer
	s := ownSensor(t, &b)
	self := os.Getpid()
	s.tree.Put(&Entity{PID: self, StartTicks: 42, Name: "aptsentinel", Executable: "/usr/sbin/aptsentinel"})
	start := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	n := uint64(17)
	r := LossReport{Start: start, End: start.Add(time.Minute), KernelLost: LossCount{Count: &n},
		SerialGaps:        LossCount{Reason: "test: unknown"},
		SocketOverruns:    known(0),
		ConnectorOverruns: known(0),
	}
	s.raiseLoss(r)
	s.raiseLoss(LossReport{Start: start, End: start, KernelLost: known(0)}) // no loss: no alert
	docs := alertDocs(t, &b)
	if len(docs) != 1 {
		t.Fatalf("%d alerts, want 1: %s", len(docs), b.String())
	}
	d := docs[0]
	for path, want := range map[string]any{
		"rule.id":                                  rules.LossRuleID,
		"rule.name":                                "Sensor lost kernel audit events",
		"rule.severity":                            "medium",
		"process.pid":                              float64(self),
		"process.name":                             "aptsentinel",
		"process.entity_id":                        EntityID(testBoot, self, 42),
		"aptsentinel.losses.kernel_lost.count":     float64(17),
		"aptsentinel.losses.serial_gaps.reason":    "test: unknown",
		"aptsentinel.losses.socket_overruns.count": float64(0),
		"aptsentinel.losses.start":                 "2026-11-29T01:00:00Z",
		"events.0.event.action":                    rules.ActionEventsLost,
		"threat.0.technique.0.subtechnique.0.id":   "T1562.012",
	} {
		if strings.HasPrefix(path, "events.0.") || strings.HasPrefix(path, "threat.0.") {
			continue // arrays checked below
		}
		if got := ecstest.Field(d, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if v, ok := ecstest.Field(d, "aptsentinel.losses.serial_gaps").(map[string]any); !ok || v["count"] != nil {
		t.Errorf("unknown count not null: %v", ecstest.Field(d, "aptsentinel.losses.serial_gaps"))
	}
	if c := ecstest.Field(d, "event.category"); c == nil || c.([]any)[0] != "host" {
		t.Errorf("event.category %v", c)
	}
	msg, _ := d["message"].(string)
	// The null count says so, with its reason, not the template's placeholder.
	if !strings.Contains(msg, "kernel lost 17") || !strings.Contains(msg, "serial gaps unknown (test: unknown)") || strings.Contains(msg, "{{") {
		t.Errorf("message %q", msg)
	}
}

func TestTamperAlertDocument(t *testing.T) {
	var b bytes.Buffer
	s := ownSensor(t, &b)
	s.tree.Put(&Entity{PID: 500, StartTicks: 7, Name: "augenrules", Executable: "/usr/bin/bash"})
	ch := &Entity{PID: 501, StartTicks: 8, Name: "auditctl", Executable: "/usr/sbin/auditctl", Args: []string{"auditctl", "-D"}}
	s.tree.Put(ch)
	if p, ok := s.tree.Get(500); ok {
		Link(ch, p)
	}
	tm := audit.Tamper{Kind: audit.TamperRulesRemoved, What: `an audit rule with the sensor's key "aptsentinel" was removed`, Count: 12,
		Change: audit.ConfigChange{Op: "remove_rule", Key: "aptsentinel", Result: 1, AUID: 1000, Ses: 3,
			HaveProcess: true, PID: 501, PPID: 500, Comm: "auditctl", Exe: "/usr/sbin/auditctl", Time: time.Now()}}
	s.onTamper(tm)
	s.raiseTamper(<-s.own.tampers)
	docs := alertDocs(t, &b)
	if len(docs) != 1 {
		t.Fatalf("%d alerts, want 1", len(docs))
	}
	d := docs[0]
	for path, want := range map[string]any{
		"rule.id":                        rules.TamperRuleID,
		"rule.severity":                  "high",
		"process.pid":                    float64(501),
		"process.name":                   "auditctl",
		"process.executable":             "/usr/sbin/auditctl",
		"process.parent.pid":             float64(500),
		"process.parent.name":            "augenrules",
		"aptsentinel.tamper.kind":        "rules_removed",
		"aptsentinel.tamper.count":       float64(12),
		"aptsentinel.tamper.change.auid": float64(1000),
	} {
		if got := ecstest.Field(d, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	msg, _ := d["message"].(string)
	if !strings.Contains(msg, "removed") || !strings.Contains(msg, "by pid 501 (auditctl, /usr/sbin/auditctl), parent pid 500, auid 1000") || strings.Contains(msg, "{{") {
		t.Errorf("message %q", msg)
	}

	// Disabled by id: nothing, and the queue never blocks the audit side.
	b.Reset()
	s = ownSensor(t, &b, rules.TamperRuleID)
	for range tamperQueue + 5 {
		s.onTamper(tm)
	}
	if got := s.own.tampersDropped.Load(); got != 5 {
		t.Errorf("dropped %d, want 5", got)
	}
	s.raiseTamper(<-s.own.tampers)
	if b.Len() != 0 {
		t.Errorf("disabled rule raised: %s", b.String())
	}
}
