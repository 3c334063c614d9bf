package main

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestE2EConnectWithoutConnect: the hook's child opens its connection
// without connect(2), by TCP Fast Open (sendto or sendmsg with
// MSG_FASTOPEN) or io_uring's IORING_OP_CONNECT (inline or by the SQPOLL
// thread); each must raise the alert as connect() does. Offline: apt runs
// in a new network namespace, where 1.1.1.1 fails at once with
// ENETUNREACH and is still audited.
func TestE2EConnectWithoutConnect(t *testing.T) {
	requireE2E(t)
	bin := filepath.Join(t.TempDir(), "altconnect")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/altconnect").CombinedOutput(); err != nil {
		t.Fatalf("building altconnect: %v\n%s", err, out)
	}
	s := startSensor(t)
	for i, mode := range []string{"sendto", "sendmsg", "uring", "uring-sqpoll"} {
		aptRun(t, "apt", "-o", preInvoke(bin+" "+mode+" 1.1.1.1:80; true"))
		alerts := s.waitAlerts(i+1, 5*time.Second)
		if len(alerts) != i+1 {
			t.Fatalf("%s: %d alerts, want %d; logs:\n%s", mode, len(alerts), i+1, s.logText())
		}
		a := alerts[i]
		events, _ := field(a.doc, "events").([]any)
		if len(events) != 2 {
			t.Fatalf("%s: %d events in the alert, want 2: %s", mode, len(events), a.raw)
		}
		e1, e2 := events[0].(map[string]any), events[1].(map[string]any)
		for _, c := range []struct {
			doc  map[string]any
			path string
			want any
		}{
			{a.doc, "rule.id", ruleID},
			{a.doc, "process.name", "sh"},
			{a.doc, "destination.ip", "1.1.1.1"},
			{a.doc, "destination.port", 80.0},
			{e2, "event.action", "connection_attempted"},
			{e2, "process.name", "altconnect"},
			{e2, "process.parent.entity_id", field(e1, "process.entity_id")},
		} {
			if got := field(c.doc, c.path); got != c.want {
				t.Errorf("%s: %s = %#v, want %#v\n%s", mode, c.path, got, c.want, a.raw)
			}
		}
	}
}
