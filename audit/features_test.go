package audit

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeProc builds a /proc tree with the files feature detection reads.
func fakeProc(t *testing.T, vsyscall32 bool, cmdline string) string {
	t.Helper()
	root := t.TempDir()
	if vsyscall32 {
		if err := os.MkdirAll(filepath.Join(root, "sys/abi"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "sys/abi/vsyscall32"), []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "cmdline"), []byte(cmdline), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestDetectFeatures(t *testing.T) {
	const present, absent = "/proc/sys/abi/vsyscall32 present", "/proc/sys/abi/vsyscall32 absent (no CONFIG_IA32_EMULATION?)"
	tests := []struct {
		name       string
		release    string
		execveat   error
		vsyscall32 bool
		cmdline    string
		goarch     string
		want       Features
	}{
		{"6.18 full", "6.18.44-fc-v669", unix.ENOENT, true, "quiet\n", "amd64",
			Features{Execveat: true, Compat32: true, Connect32: true, IA32Hint: present}},
		// The files only hint: on x86_64 the b32 rules are always tried,
		// and the kernel's answer to adding them decides.
		{"6.8 ia32 off", "6.8.0-45-generic", unix.EBADF, true, "ro ia32_emulation=false\n", "amd64",
			Features{Execveat: true, Compat32: true, Connect32: true, IA32Hint: present + ", ia32_emulation off on the kernel command line"}},
		{"ia32 param after --", "6.8.0", unix.EBADF, true, "ro -- ia32_emulation=0\n", "amd64",
			Features{Execveat: true, Compat32: true, Connect32: true, IA32Hint: present}},
		{"4.2", "4.2.0-1-amd64", unix.ENOENT, true, "", "amd64",
			Features{Execveat: true, Compat32: true, IA32Hint: present}},
		{"3.16 no IA32", "3.16.0-4-amd64", unix.ENOSYS, false, "", "amd64",
			Features{Compat32: true, IA32Hint: absent}},
		{"arm64", "6.1.0", unix.ENOENT, false, "", "arm64", Features{Execveat: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := featureProbe{
				procRoot: fakeProc(t, tt.vsyscall32, tt.cmdline),
				goarch:   tt.goarch,
				release:  func() (string, error) { return tt.release, nil },
				execveat: func() error { return tt.execveat },
			}
			got, err := p.detect()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCompat32Decision(t *testing.T) {
	specs, _ := SensorRules("k", 1, Features{Execveat: true, Compat32: true, Connect32: true})
	var refusal RefusedRule
	for _, s := range specs {
		if isB32(s.Text) && refusal.Text == "" {
			refusal = RefusedRule{Text: s.Text, Err: unix.EINVAL}
		}
	}
	tests := []struct {
		name         string
		f            Features
		refused      []RefusedRule
		wantDecision string
		wantWhy      string
	}{
		{"accepted", Features{Compat32: true}, nil, "installed", "the kernel accepted all 5"},
		{"one refused", Features{Compat32: true}, []RefusedRule{refusal}, "partly installed", "refused 1 of 5"},
		{"all refused", Features{Compat32: true}, []RefusedRule{refusal, refusal, refusal, refusal, refusal}, "not installed", "refused all 5"},
		{"not x86_64", Features{}, nil, "not installed", "not an x86_64 kernel"},
	}
	for _, tt := range tests {
		decision, why := compat32Decision(tt.f, specs, tt.refused)
		if decision != tt.wantDecision || !strings.Contains(why, tt.wantWhy) {
			t.Errorf("%s: %q, %q; want %q, containing %q", tt.name, decision, why, tt.wantDecision, tt.wantWhy)
		}
		if tt.refused != nil && !strings.Contains(why, "invalid argument") {
			t.Errorf("%s: why %q does not carry the kernel's answer", tt.name, why)
		}
	}
}

// TestAddRulesKernelRefusal gives the real kernel a rule it refuses (an
// arch field with "<", which kernel/auditfilter.c audit_field_valid
// answers with EINVAL): marked optional it is left out and reported, the
// rules around it are installed; not optional it is Open's error.
func TestAddRulesKernelRefusal(t *testing.T) {
	requireAudit(t)
	restoreKernel(t)
	k := " -k " + testKey
	specs := []RuleSpec{
		{Text: "-a always,exit -F arch=b64 -S connect" + k},
		{Text: "-a always,exit -F arch=b32 -S execve" + k, Optional: true},
		{Text: "-a always,exit -F arch=b32 -S socketcall -F a0=3" + k, Optional: true},
	}
	wires := make([][]byte, len(specs))
	for i, spec := range specs {
		w, err := BuildRule(spec)
		if err != nil {
			t.Fatal(err)
		}
		wires[i] = w
	}
	// Turn the second rule's arch=b32 into arch<b32.
	r, err := ParseKernelRule(wires[1])
	if err != nil {
		t.Fatal(err)
	}
	archAt := -1
	for i, f := range r.Fields {
		if f.Field == fieldArch {
			archAt = i
		}
	}
	if archAt < 0 {
		t.Fatalf("no arch field in %+v", r.Fields)
	}
	const auditLessThan = 0x20000000 // AUDIT_LESS_THAN
	binary.NativeEndian.PutUint32(wires[1][ruleOffFlags+4*archAt:], auditLessThan)

	c, err := dialClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	kept, refused, err := addRules(c, specs, wires)
	if err != nil {
		t.Fatalf("addRules: %v", err)
	}
	if len(kept) != 2 || len(refused) != 1 || refused[0].Text != specs[1].Text || !errors.Is(refused[0].Err, unix.EINVAL) {
		t.Fatalf("kept %d, refused %+v; want 2 kept and the arch< rule refused with EINVAL", len(kept), refused)
	}
	checkRules(t, rulesWithKey(t, testKey), []wantRule{
		{arch: archX86_64, syscalls: []int{42}, action: 2},
		{arch: archI386, syscalls: []int{102}, action: 2},
	})

	if _, err := DeleteRulesByKey(testKey); err != nil {
		t.Fatal(err)
	}
	specs[1].Optional = false
	kept, _, err = addRules(c, specs, wires)
	if !errors.Is(err, unix.EINVAL) || len(kept) != 1 {
		t.Errorf("required rule refused: kept %d, err %v; want 1 kept and EINVAL", len(kept), err)
	}
}

func TestDetectFeaturesBadRelease(t *testing.T) {
	p := featureProbe{
		procRoot: t.TempDir(),
		release:  func() (string, error) { return "garbage", nil },
		execveat: func() error { return nil },
	}
	if _, err := p.detect(); err == nil {
		t.Error("bad release accepted")
	}
}

func TestParseRelease(t *testing.T) {
	tests := []struct {
		in      string
		want    Release
		wantErr bool
	}{
		{"6.18.44-fc-v669", Release{6, 18}, false},
		{"3.16.0-4-amd64", Release{3, 16}, false},
		{"4.3", Release{4, 3}, false},
		{"5.10rc1", Release{5, 10}, false},
		{"6", Release{}, true},
		{"x.1", Release{}, true},
	}
	for _, tt := range tests {
		got, err := ParseRelease(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%q: %+v, %v", tt.in, got, err)
		}
	}
	if !(Release{4, 3}).AtLeast(4, 3) || (Release{4, 2}).AtLeast(4, 3) || !(Release{5, 0}).AtLeast(4, 3) {
		t.Error("AtLeast is wrong")
	}
}

// TestDetectFeaturesThisKernel checks the probes on the machine the tests
// run on (a 6.x x86_64 kernel with IA32 emulation per the project's brief).
func TestDetectFeaturesThisKernel(t *testing.T) {
	if err := probeExecveat(); errors.Is(err, unix.ENOSYS) || err == nil {
		t.Errorf("execveat probe: %v, want ENOENT or EBADF on a 3.19+ kernel", err)
	}
	f, err := DetectFeatures()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("features: %+v", f)
	if !f.Execveat {
		t.Error("execveat not detected")
	}
}

func TestCheckHolder(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "4242"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "4242/comm"), []byte("auditd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkHolder(0, root); err != nil {
		t.Errorf("pid 0: %v", err)
	}
	if err := checkHolder(999, root); err != nil {
		t.Errorf("stale pid 999: %v", err)
	}
	err := checkHolder(4242, root)
	var h *HolderError
	if !errors.As(err, &h) || h.PID != 4242 || h.Comm != "auditd" {
		t.Fatalf("live pid 4242: %v", err)
	}
	want := "audit: audit PID is held by pid 4242 (auditd): stop auditd (systemctl stop auditd) or the other audit consumer, then start aptsentinel again"
	if err.Error() != want {
		t.Errorf("message:\n%s\nwant\n%s", err, want)
	}
}

func TestIA32Disabled(t *testing.T) {
	tests := map[string]bool{
		"":                          false,
		"ia32_emulation=false":      true,
		"quiet ia32_emulation=0 ro": true,
		"ia32_emulation=Off":        true,
		"ia32_emulation=true":       false,
		"ia32_emulation=1":          false,
		"-- ia32_emulation=false":   false,
		"xia32_emulation=false":     false,
	}
	for in, want := range tests {
		if got := ia32Disabled([]byte(in)); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}
