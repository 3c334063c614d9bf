package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/audit"
)

// TestStatusRulePerm: status writes a watch rule's permissions as
// auditctl -l does (perm=wa), not as the kernel's bitmask (perm=10), in
// the human output and in --json's rule lines.
func TestStatusRulePerm(t *testing.T) {
	for _, tt := range []struct{ perm, want string }{
		{"wa", "perm=wa"}, // the sensor's apt.conf.d watch: AUDIT_PERM_WRITE|AUDIT_PERM_ATTR = 10
		{"r", "perm=r"},
		{"x", "perm=x"},
		{"awrx", "perm=rwxa"}, // auditctl's order, whatever the order given
	} {
		text := "-a always,exit -F arch=b64 -S openat -F path=/etc/apt/apt.conf.d -F perm=" + tt.perm + " -k aptsentinel"
		w, err := audit.BuildRule(audit.RuleSpec{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		r, err := audit.ParseKernelRule(w)
		if err != nil {
			t.Fatal(err)
		}
		var rep statusReport
		rep.Rules = []string{audit.RuleText(r)}
		var human bytes.Buffer
		writeStatus(&human, rep)
		js, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		for what, out := range map[string]string{"human": human.String(), "json": string(js)} {
			if !strings.Contains(out, " -F "+tt.want+" ") {
				t.Errorf("perm=%s: %s output lacks %q:\n%s", tt.perm, what, tt.want, out)
			}
		}
	}
}
