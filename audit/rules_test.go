package audit

import (
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestSensorRules(t *testing.T) {
	tests := []struct {
		name        string
		f           Features
		wantRules   int
		wantSkipped []string
	}{
		{"6.x with IA32", Features{Execveat: true, Compat32: true, Connect32: true}, 11, nil},
		{"4.2 with IA32", Features{Execveat: true, Compat32: true}, 8, []string{"b32 connect"}},
		{"3.16 without IA32", Features{}, 6, []string{"execveat", "all b32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, skipped := SensorRules("k", 42, tt.f)
			if fi, err := os.Stat(WatchedDir); err == nil && fi.IsDir() {
				tt.wantRules++ // the watch on apt's configuration directory
				if !slices.ContainsFunc(rules, func(r RuleSpec) bool {
					return r.Text == "-a always,exit -F arch=b64 -S "+nameMakers64+" -F path=/etc/apt/apt.conf.d -F perm=wa -k k"
				}) {
					t.Errorf("no watch on %s in %v", WatchedDir, rules)
				}
			} else {
				tt.wantSkipped = append(tt.wantSkipped[:len(tt.wantSkipped):len(tt.wantSkipped)], "the file watch")
			}
			if len(rules) != tt.wantRules {
				t.Errorf("%d rules, want %d: %v", len(rules), tt.wantRules, rules)
			}
			if len(skipped) != len(tt.wantSkipped) {
				t.Fatalf("skipped %q, want %q", skipped, tt.wantSkipped)
			}
			for i, w := range tt.wantSkipped {
				if !strings.HasPrefix(skipped[i], w) {
					t.Errorf("skipped[%d] = %q, want prefix %q", i, skipped[i], w)
				}
			}
			if !rules[0].Prepend || !strings.Contains(rules[0].Text, "never,exit -F pid=42") && !strings.Contains(rules[0].Text, "exit,never -F pid=42") {
				t.Errorf("first rule %+v is not the prepended never rule for our pid", rules[0])
			}
			for _, r := range rules {
				if strings.Contains(r.Text, "success") {
					t.Errorf("rule %q filters on success", r.Text)
				}
				if _, err := BuildRule(r); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestBuildRuleParsesBack(t *testing.T) {
	wire, err := BuildRule(RuleSpec{Text: "-A exit,never -F pid=77 -k mykey", Prepend: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseKernelRule(wire)
	if err != nil {
		t.Fatal(err)
	}
	if r.Flags != filterExit|filterPrepend || r.Action != 0 {
		t.Errorf("flags %#x action %d, want exit|prepend and never", r.Flags, r.Action)
	}
	if r.Key() != "mykey" {
		t.Errorf("key %q", r.Key())
	}
	if f, ok := r.Field(fieldPID); !ok || f.Value != 77 {
		t.Errorf("pid field %+v", f)
	}

	wire, err = BuildRule(RuleSpec{Text: "-a always,exit -F arch=b32 -S socketcall -F a0=3 -k k2"})
	if err != nil {
		t.Fatal(err)
	}
	r, err = ParseKernelRule(wire)
	if err != nil {
		t.Fatal(err)
	}
	if r.Flags != filterExit || !r.HasSyscall(102) || r.HasSyscall(101) || r.Key() != "k2" {
		t.Errorf("socketcall rule parsed as %+v", r)
	}
}

func TestParseKernelRuleRejects(t *testing.T) {
	good, err := BuildRule(RuleSpec{Text: "-a always,exit -F arch=b64 -S connect -k abc"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   string
	}{
		{"short", func(b []byte) []byte { return b[:100] }, "header needs"},
		{"field count", func(b []byte) []byte { binary.NativeEndian.PutUint32(b[8:], 65); return b }, "field_count"},
		{"buflen", func(b []byte) []byte { binary.NativeEndian.PutUint32(b[ruleOffBufLen:], 1<<20); return b }, "buflen"},
		{"string past buf", func(b []byte) []byte {
			// Make the key field claim more bytes than buf has.
			r, _ := ParseKernelRule(b)
			for i, f := range r.Fields {
				if f.Field == fieldFilterKey {
					binary.NativeEndian.PutUint32(b[ruleOffValues+4*i:], 200)
				}
			}
			return b
		}, "string of"},
	}
	for _, tt := range tests {
		b := tt.mutate(append([]byte(nil), good...))
		if _, err := ParseKernelRule(b); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestCheckKey(t *testing.T) {
	for _, k := range []string{"aptsentinel", "a-b_c.d"} {
		if err := checkKey(k); err != nil {
			t.Errorf("%q: %v", k, err)
		}
	}
	for _, k := range []string{"", "a b", "a\x01b", `a"b`, strings.Repeat("x", 257)} {
		if err := checkKey(k); err == nil {
			t.Errorf("%q accepted", k)
		}
	}
}

func FuzzParseKernelRule(f *testing.F) {
	for _, text := range []string{
		"-A exit,never -F pid=1 -k aptsentinel",
		"-a always,exit -F arch=b64 -S execve,execveat -k aptsentinel",
		"-a always,exit -F arch=b32 -S socketcall -F a0=3 -k aptsentinel",
		"-w /etc/passwd -p wa -k watch",
	} {
		w, err := BuildRule(RuleSpec{Text: text})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseKernelRule(b)
		if err != nil {
			return
		}
		if len(r.Fields) > ruleMaxFields {
			t.Fatalf("%d fields", len(r.Fields))
		}
		_ = r.Key()
		r.HasSyscall(-1)
		r.HasSyscall(1 << 20)
	})
}

func BenchmarkParseKernelRule(b *testing.B) {
	w, err := BuildRule(RuleSpec{Text: "-a always,exit -F arch=b64 -S execve,execveat -k aptsentinel"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := ParseKernelRule(w)
		if err != nil || r.Key() != "aptsentinel" {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildRule(b *testing.B) {
	spec := RuleSpec{Text: "-a always,exit -F arch=b64 -S execve,execveat -k aptsentinel"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildRule(spec); err != nil {
			b.Fatal(err)
		}
	}
}
