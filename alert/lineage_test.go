package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/rules"
)

// TestAlertLineage: a match's lineage is the alert's aptsentinel.lineage,
// nearest first, pid and name left out where unknown; a finding given with
// it is kept and not changed.
func TestAlertLineage(t *testing.T) {
	m := testMatch()
	m.Lineage = []rules.Ancestor{{EntityID: "g", PID: 7, Name: "curl"}, {EntityID: "m"}, {EntityID: "shell-id", PID: 3119, Name: "sh"}}
	m.Finding = map[string]any{"x": 1}
	line, err := New(m, Host{ID: "h1"}, time.Now()).MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Aptsentinel struct {
			X       int              `json:"x"`
			Lineage []map[string]any `json:"lineage"`
		} `json:"aptsentinel"`
	}
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatal(err)
	}
	l := doc.Aptsentinel.Lineage
	if len(l) != 3 || l[0]["entity_id"] != "g" || l[0]["pid"] != float64(7) || l[0]["name"] != "curl" ||
		len(l[1]) != 1 || l[1]["entity_id"] != "m" || l[2]["name"] != "sh" {
		t.Errorf("aptsentinel.lineage %v", l)
	}
	if doc.Aptsentinel.X != 1 || len(m.Finding) != 1 {
		t.Errorf("finding lost or changed: %s; %v", line, m.Finding)
	}
	if line, _ := New(testMatch(), Host{}, time.Now()).MarshalLine(); json.Valid(line) && contains(line, `"aptsentinel":{`) {
		t.Errorf("a match without lineage or finding has an aptsentinel object: %s", line)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
