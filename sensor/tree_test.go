package sensor

import (
	"strings"
	"testing"
)

func TestTreeBoundedAndCountsEvictions(t *testing.T) {
	tree, err := NewTree(testBoot, 64)
	if err != nil {
		t.Fatal(err)
	}
	for pid := 1; pid <= 100; pid++ {
		tree.Put(&Entity{PID: pid, StartTicks: uint64(pid)})
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
	tree.Put(&Entity{PID: 5, StartTicks: 1})
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

// The cache is bounded in bytes too: entities with large argvs push the
// least recently used out before the entry bound is reached, and the
// estimate follows puts, execs (Resize), replacements and evictions.
func TestTreeBoundedInBytes(t *testing.T) {
	tree, _ := NewTree(testBoot, 4096)
	tree.maxBytes = 1 << 20
	big := strings.Repeat("x", 4000)
	for pid := 1; pid <= 1000; pid++ {
		tree.Put(&Entity{PID: pid, StartTicks: uint64(pid), Args: []string{"sh", "-c", big}})
	}
	if tree.Bytes() > tree.maxBytes || tree.Len() >= 1000 || tree.Evicted() == 0 {
		t.Fatalf("bytes %d (max %d) len %d evicted %d: not bounded in bytes", tree.Bytes(), tree.maxBytes, tree.Len(), tree.Evicted())
	}
	sum := 0
	for _, pid := range tree.cache.Keys() {
		p, _ := tree.cache.Peek(pid)
		sum += costOf(p)
	}
	if sum != tree.Bytes() {
		t.Errorf("estimate %d, sum of entities %d", tree.Bytes(), sum)
	}
	p, _ := tree.Get(1000)
	p.Args = []string{"true"}
	tree.Resize(p)
	tree.Put(&Entity{PID: 999, StartTicks: 5000}) // pid reuse: replaces
	sum = 0
	for _, pid := range tree.cache.Keys() {
		p, _ := tree.cache.Peek(pid)
		sum += costOf(p)
	}
	if sum != tree.Bytes() {
		t.Errorf("after exec and reuse: estimate %d, sum %d", tree.Bytes(), sum)
	}
}
