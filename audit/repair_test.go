package audit

import (
	"context"
	"testing"
	"time"
)

// TestRepairPutsBackWhatOthersUndid: with Run reading the data socket,
// another program disables audit, deletes our rules and releases the audit
// PID (as journald's Audit=no, `auditctl -D` and a stray AUDIT_SET would);
// Repair restores all three, and a clean state needs no repair.
func TestRepairPutsBackWhatOthersUndid(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	s, _ := openTestSession(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx, func(Record) {})

	if r, err := s.Repair(); err != nil || r.Any() {
		t.Fatalf("Repair on an intact session: %+v, %v; want nothing to do", r, err)
	}
	if err := SetEnabled(0); err != nil {
		t.Fatal(err)
	}
	if n, err := DeleteRulesByKey(testKey); err != nil || n == 0 {
		t.Fatalf("DeleteRulesByKey: %d, %v", n, err)
	}
	c, err := dialClient()
	if err != nil {
		t.Fatal(err)
	}
	// Releasing from another socket of our own process is allowed: the
	// kernel checks the sender's tgid (kernel/audit.c, AUDIT_STATUS_PID).
	if err := c.set(Status{Mask: statusPID}, "pid 0"); err != nil {
		t.Fatal(err)
	}
	c.close()

	r, err := s.Repair()
	if err != nil {
		t.Fatal(err)
	}
	if !r.Reenabled || !r.PIDReclaimed || r.RulesReinstalled != len(s.wires) {
		t.Errorf("Repair = %+v, want re-enabled, PID reclaimed, %d rules", r, len(s.wires))
	}
	st, _ := GetStatus()
	if st.Enabled != 1 || st.PID != s.self {
		t.Errorf("after Repair: enabled %d pid %d, want 1 and %d", st.Enabled, st.PID, s.self)
	}
	rules, _ := ListRules()
	first := -1
	n := 0
	for i, kr := range rules {
		if kr.Key() == testKey {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	if n != len(s.wires) || first != 0 || rules[0].Action != 0 {
		t.Errorf("after Repair: %d rules with our key, first at %d (action %d); want %d with the never rule first", n, first, rules[0].Action, len(s.wires))
	}
	time.Sleep(10 * time.Millisecond)
	if r, err := s.Repair(); err != nil || r.Any() {
		t.Errorf("second Repair: %+v, %v; want nothing to do", r, err)
	}
}
