package main

import (
	"encoding/json"
	"testing"

	"github.com/aptsentinel/aptsentinel/rules"
)

// oneSerialGap reports (and logs) a loss alert whose only loss is one
// audit serial that never arrived: the open finding that the handover and
// flood tests tolerate too (README, "Which serials can go missing"). It
// says nothing about the hooks; any other loss, or two serials, still
// fails the test.
func oneSerialGap(t *testing.T, a alertLine) bool {
	if field(a.doc, "rule.id") != rules.LossRuleID {
		return false
	}
	for _, name := range []string{"kernel_lost", "socket_overruns", "connector_overruns", "blind_windows"} {
		if n, ok := field(a.doc, "aptsentinel.losses."+name+".count").(float64); !ok || n != 0 {
			return false
		}
	}
	if n, _ := field(a.doc, "aptsentinel.losses.serial_gaps.count").(float64); n != 1 {
		return false
	}
	t.Logf("loss alert of one serial gap, tolerated: %v", field(a.doc, "message"))
	return true
}

func TestOneSerialGap(t *testing.T) {
	doc := func(kernel, gaps string) alertLine {
		raw := `{"rule":{"id":"` + rules.LossRuleID + `"},"aptsentinel":{"losses":{"kernel_lost":{"count":` + kernel +
			`},"serial_gaps":{"count":` + gaps + `},"socket_overruns":{"count":0},"connector_overruns":{"count":0},` +
			`"blind_windows":{"count":0,"seconds":0,"from":null,"to":null}}}}`
		var d map[string]any
		must(t, json.Unmarshal([]byte(raw), &d))
		return alertLine{raw: raw, doc: d}
	}
	for _, c := range []struct {
		kernel, gaps string
		want         bool
	}{{"0", "1", true}, {"0", "2", false}, {"1", "1", false}, {"null", "1", false}, {"0", "null", false}, {"0", "0", false}} {
		if got := oneSerialGap(t, doc(c.kernel, c.gaps)); got != c.want {
			t.Errorf("kernel_lost %s, serial_gaps %s: %v, want %v", c.kernel, c.gaps, got, c.want)
		}
	}
}
