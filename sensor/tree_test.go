package sensor

import "testing"

func TestTreeBoundedAndCountsEvictions(t *testing.T) {
	tree, err := NewTree(testBoot, 64)
	if err != nil {
		t.Fatal(err)
	}
	for pid := 1; pid <= 100; pid++ {
		tree.Put(&Proc{PID: pid, StartTicks: uint64(pid)})
	}
	if tree.Len() != 64 || tree.Evicted() != 36 {
		t.Errorf("Len=%d Evicted=%d, want 64 and 36", tree.Len(), tree.Evicted())
	}
	if _, ok := tree.Get(1); ok {
		t.Error("the least recently used process was not evicted")
	}
	if p, ok := tree.Get(100); !ok || p.EntityID != EntityID(testBoot, 100, 100) {
		t.Errorf("Get(100) = %+v, %v", p, ok)
	}
}

func TestTreeExitKeepsEntity(t *testing.T) {
	tree, _ := NewTree(testBoot, 64)
	tree.Put(&Proc{PID: 5, StartTicks: 1})
	tree.Exit(5, testTime)
	p, ok := tree.Get(5)
	if !ok || !p.Exited {
		t.Errorf("after exit: %+v %v, want the entity kept and marked exited", p, ok)
	}
}

func TestNewTreeRefusesTinyCache(t *testing.T) {
	if _, err := NewTree(testBoot, 10); err == nil {
		t.Error("NewTree(10) succeeded, want an error naming the minimum")
	}
}
