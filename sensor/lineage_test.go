package sensor

import (
	"testing"

	"github.com/aptsentinel/aptsentinel/rules"
)

// TestFillLineage: the tree's parents at fork name the ancestors the
// engine knows by entity id only; a chain that leaves the tree's stops.
func TestFillLineage(t *testing.T) {
	apt := &Entity{PID: 10, EntityID: "apt", Name: "apt-get"}
	shell := &Entity{PID: 11, EntityID: "shell", Name: "sh"}
	mid := &Entity{PID: 12, EntityID: "mid", Name: "bash"}
	conn := &Entity{PID: 13, EntityID: "conn", Name: "curl"}
	Link(shell, apt)
	Link(mid, shell)
	Link(conn, mid)
	l := []rules.Ancestor{{EntityID: "conn", PID: 13, Name: "curl"}, {EntityID: "mid"}, {EntityID: "shell", PID: 11, Name: "sh"}}
	fillLineage(l, conn)
	if l[1].PID != 12 || l[1].Name != "bash" || l[0].Name != "curl" || l[2].PID != 11 {
		t.Errorf("lineage %+v", l)
	}
	other := []rules.Ancestor{{EntityID: "conn"}, {EntityID: "not-mid"}, {EntityID: "shell"}}
	fillLineage(other, conn)
	if other[0].PID != 13 || other[1].PID != 0 || other[2].PID != 0 {
		t.Errorf("a chain that differs from the tree's was filled past the difference: %+v", other)
	}
	fillLineage(nil, conn)
	fillLineage([]rules.Ancestor{{EntityID: "x"}}, nil)
}
