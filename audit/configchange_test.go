package audit

import (
	"strings"
	"testing"
	"time"
)

// Records as Linux 6.18 writes them (captured with the sensor beside
// auditd: `augenrules --load` run from a root shell).
const (
	ccRemove  = `audit(1795659687.960:1438): auid=4294967295 ses=4294967295 subj=unconfined op=remove_rule key="aptsentinel" list=4 res=1`
	ccRemove2 = `audit(1795659687.960:1438): auid=4294967295 ses=4294967295 subj=unconfined op=remove_rule key="aptsentinel" list=4 res=1`
	ccSyscall = `audit(1795659687.960:1438): arch=c000003e syscall=44 success=yes exit=1080 a0=3 a1=7ffd a2=438 a3=0 items=0 ppid=23234 pid=23244 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="auditctl" exe="/usr/sbin/auditctl" subj=unconfined key=(null)`
	ccEOE     = `audit(1795659687.960:1438): `
	ccPID     = `audit(1795659684.684:2): op=set audit_pid=2771 old=0 auid=4294967295 ses=4294967295 res=1`
)

func TestParseConfigChange(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ConfigChange
	}{
		{ccRemove, ConfigChange{Serial: 1438, Op: "remove_rule", Key: "aptsentinel", List: 4, Result: 1, AUID: unsetID, Ses: unsetID}},
		{ccPID, ConfigChange{Serial: 2, Op: "set", Setting: "audit_pid", Value: 2771, Old: 0, HaveValueOld: true, List: -1, Result: 1, AUID: unsetID, Ses: unsetID}},
		{`audit(1.000:9): op=set audit_enabled=0 old=1 auid=1000 ses=3 subj=unconfined res=1`,
			ConfigChange{Serial: 9, Op: "set", Setting: "audit_enabled", Value: 0, Old: 1, HaveValueOld: true, List: -1, Result: 1, AUID: 1000, Ses: 3}},
		{`audit(1.000:10): auid=0 ses=1 op=add_rule key=(null) list=4 res=1`,
			ConfigChange{Serial: 10, Op: "add_rule", List: 4, Result: 1, AUID: 0, Ses: 1}},
		{`audit(1.000:11): auid=0 ses=1 op=add_rule key=610162 list=4 res=0`, // "a\x01b", hex-encoded
			ConfigChange{Serial: 11, Op: "add_rule", Key: "a\x01b", List: 4, Result: 0, AUID: 0, Ses: 1}},
	} {
		got, err := ParseConfigChange([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		got.Time = time.Time{}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "audit(1.000:1): res=1", "audit(1.000:1): op=set audit_enabled=x old=1", "audit(1.000:1): op=x list=four"} {
		if _, err := ParseConfigChange([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseConfigChange(f *testing.F) {
	for _, s := range []string{ccRemove, ccPID, ccSyscall} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfigChange(b)
		if err == nil && c.Op == "" {
			t.Fatal("parsed without op")
		}
		col := newConfigCollector()
		_ = col.push(Record{Type: TypeConfig, Data: b}, time.Unix(1, 0), func(ConfigChange) {})
		_ = col.push(Record{Type: TypeSyscall, Data: b}, time.Unix(1, 0), func(ConfigChange) {})
		col.flush(time.Time{}, func(ConfigChange) {})
	})
}

// TestCollectorJoinsTheChangersSyscall: the removals of one `auditctl -D`
// (one CONFIG_CHANGE each) get the pid, parent, comm and exe of the one
// SYSCALL record that follows, and are emitted at EOE, then the group end.
func TestCollectorJoinsTheChangersSyscall(t *testing.T) {
	c := newConfigCollector()
	var got []ConfigChange
	emit := func(cc ConfigChange) { got = append(got, cc) }
	now := time.Unix(100, 0)
	for _, r := range []Record{
		{TypeConfig, []byte(ccRemove)}, {TypeConfig, []byte(ccRemove2)},
		{TypeSyscall, []byte(ccSyscall)},
	} {
		if err := c.push(r, now, emit); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 0 {
		t.Fatalf("emitted before EOE: %+v", got)
	}
	c.push(Record{TypeEOE, []byte(ccEOE)}, now, emit)
	if len(got) != 3 || got[2].Op != opGroupEnd {
		t.Fatalf("emitted %+v; want two changes and the group end", got)
	}
	for _, cc := range got[:2] {
		if !cc.HaveProcess || cc.PID != 23244 || cc.PPID != 23234 || cc.Comm != "auditctl" || cc.Exe != "/usr/sbin/auditctl" {
			t.Errorf("changer not joined: %+v", cc)
		}
	}
	// Without a SYSCALL record (the changer's syscall not recorded) the
	// change is emitted by flush after configWait, without a process.
	got = nil
	c.push(Record{TypeConfig, []byte(ccPID)}, now, emit)
	c.flush(now.Add(configWait/2), emit)
	if len(got) != 0 {
		t.Fatal("flushed too early")
	}
	c.flush(now.Add(configWait), emit)
	if len(got) != 2 || got[0].HaveProcess || got[0].Setting != "audit_pid" {
		t.Fatalf("flush: %+v", got)
	}
	if len(c.open) != 0 || len(c.order) != 0 {
		t.Fatalf("collector holds %d groups after flush", len(c.open))
	}
}

func TestDetectTamper(t *testing.T) {
	const self = 500
	base := ConfigChange{Result: 1, List: -1}
	with := func(f func(*ConfigChange)) ConfigChange { c := base; f(&c); return c }
	for _, tc := range []struct {
		name string
		c    ConfigChange
		want TamperKind
	}{
		{"own key removed", with(func(c *ConfigChange) { c.Op, c.Key, c.List = "remove_rule", "aptsentinel", 4 }), TamperRulesRemoved},
		{"other key removed", with(func(c *ConfigChange) { c.Op, c.Key = "remove_rule", "admin" }), ""},
		{"removal refused", with(func(c *ConfigChange) { c.Op, c.Key, c.Result = "remove_rule", "aptsentinel", 0 }), ""},
		{"audit off", with(func(c *ConfigChange) {
			c.Op, c.Setting, c.Value, c.Old, c.HaveValueOld = "set", "audit_enabled", 0, 1, true
		}), TamperAuditDisabled},
		{"audit on", with(func(c *ConfigChange) {
			c.Op, c.Setting, c.Value, c.Old, c.HaveValueOld = "set", "audit_enabled", 1, 0, true
		}), ""},
		{"pid stolen", with(func(c *ConfigChange) {
			c.Op, c.Setting, c.Value, c.Old, c.HaveValueOld = "set", "audit_pid", 77, self, true
		}), TamperPIDTaken},
		{"free pid taken (auditd after handover)", with(func(c *ConfigChange) {
			c.Op, c.Setting, c.Value, c.Old, c.HaveValueOld = "set", "audit_pid", 77, 0, true
		}), ""},
		{"own pid set", with(func(c *ConfigChange) {
			c.Op, c.Setting, c.Value, c.Old, c.HaveValueOld = "set", "audit_pid", self, 0, true
		}), ""},
		{"rule added", with(func(c *ConfigChange) { c.Op, c.Key = "add_rule", "admin" }), ""},
	} {
		got, ok := DetectTamper(tc.c, "aptsentinel", self)
		if got.Kind != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: got %q %v, want %q", tc.name, got.Kind, ok, tc.want)
		}
		if ok && (got.What == "" || got.Change != tc.c) {
			t.Errorf("%s: tamper lacks what or the change: %+v", tc.name, got)
		}
	}
	tm, _ := DetectTamper(with(func(c *ConfigChange) {
		c.Op, c.Key, c.HaveProcess, c.PID, c.PPID, c.Comm, c.Exe, c.AUID = "remove_rule", "aptsentinel", true, 9, 8, "auditctl", "/usr/sbin/auditctl", 1000
	}), "aptsentinel", self)
	if s := tm.Changer(); !strings.Contains(s, "pid 9 (auditctl, /usr/sbin/auditctl), parent pid 8") || !strings.Contains(s, "auid 1000") {
		t.Errorf("Changer() = %q", s)
	}
}
