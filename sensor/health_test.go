package sensor

import (
	"math"
	"testing"
)

func TestKernelLostSince(t *testing.T) {
	tests := []struct {
		prev uint64
		now  uint32
		want uint64
	}{
		{0, 0, 0},
		{5, 5, 5},
		{5, 9, 9},
		{math.MaxUint32 - 1, 3, math.MaxUint32 + 4}, // the kernel's counter wrapped
		{1<<32 + 10, 12, 1<<32 + 12},                // already past one wrap
	}
	for _, tt := range tests {
		if got := kernelLostSince(tt.prev, tt.now); got != tt.want {
			t.Errorf("kernelLostSince(%d, %d) = %d, want %d", tt.prev, tt.now, got, tt.want)
		}
	}
}

func TestLossesSub(t *testing.T) {
	old := losses{KernelLost: 10, ConnectorOverruns: 2, AlertsNotDelivered: 1}
	now := losses{KernelLost: 15, ConnectorOverruns: 2, AlertsNotDelivered: 3, UnresolvedProcs: 4}
	want := losses{KernelLost: 5, AlertsNotDelivered: 2, UnresolvedProcs: 4}
	if got := now.sub(old); got != want {
		t.Errorf("sub = %+v, want %+v", got, want)
	}
	if got := now.sub(now); got != (losses{}) {
		t.Errorf("no change gives %+v, want zero", got)
	}
}
