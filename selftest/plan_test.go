package selftest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	auditd := auditHolder{pid: 505, comm: "auditd", exe: "/usr/sbin/auditd"}
	other := auditHolder{pid: 606, comm: "fake-auditd", exe: "/tmp/fake-auditd"}
	sensor := auditHolder{pid: 707, comm: "aptsentinel", exe: "/usr/sbin/aptsentinel", isSensor: true}
	for _, c := range []struct {
		name    string
		enabled uint32
		holder  auditHolder
		canRead bool
		want    how
		errHas  string // "" for no error
	}{
		{"no holder", 1, auditHolder{}, true, inProcessUnicast, ""},
		{"no holder, audit off", 0, auditHolder{}, false, inProcessUnicast, ""},
		{"auditd", 1, auditd, true, inProcessBeside, ""},
		{"any other holder", 1, other, true, inProcessBeside, ""},
		{"auditd, audit off", 0, auditd, true, inProcessBeside, ""},
		{"sensor holds it", 1, sensor, false, service, ""},
		{"sensor holds it, locked", 2, sensor, true, service, ""},
		{"auditd without CAP_AUDIT_READ", 1, auditd, false, 0, "CAP_AUDIT_READ"},
		{"locked, no holder", 2, auditHolder{}, true, 0, "locked"},
		{"locked beside auditd", 2, auditd, true, 0, "pid 505, auditd"},
	} {
		got, err := choose(c.enabled, c.holder, c.canRead)
		switch {
		case c.errHas == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.errHas != "" && (err == nil || !strings.Contains(err.Error(), c.errHas) || !strings.Contains(err.Error(), "nothing was staged")):
			t.Errorf("%s: error %v, want one naming %q and that nothing was staged", c.name, err, c.errHas)
		case c.errHas == "" && got != c.want:
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

func TestHasCapability(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(eff string) {
		status := "Name:\taptsentinel\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t" + eff + "\nCapBnd:\t000001ffffffffff\n"
		if err := os.WriteFile(filepath.Join(root, "self", "status"), []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("000001ffffffffff") // root
	if !hasCapability(root, capAuditRead) {
		t.Error("all capabilities: CAP_AUDIT_READ not found")
	}
	write("000001dfffffffff") // bit 37 cleared
	if hasCapability(root, capAuditRead) {
		t.Error("CAP_AUDIT_READ dropped: still reported")
	}
	if hasCapability(filepath.Join(root, "missing"), capAuditRead) {
		t.Error("no status file: reported")
	}
}
