package sensor

import "testing"

func TestEntityID(t *testing.T) {
	const boot = "0e6b1a52-6d5e-4d43-9f7e-3c1d2b0a9f11"
	base := EntityID(boot, 4242, 123456)
	tests := []struct {
		name  string
		id    string
		equal bool
	}{
		{"same process, later call (exec keeps pid and start)", EntityID(boot, 4242, 123456), true},
		{"fork: another pid", EntityID(boot, 4243, 123456), false},
		{"pid reuse: later start time", EntityID(boot, 4242, 123457), false},
		{"another boot", EntityID("6c1d0b5e-0000-4000-8000-000000000000", 4242, 123456), false},
		// The separator keeps (pid 12, start 3) apart from (pid 1, start 23).
		{"digits do not run together", EntityID(boot, 424, 2123456), false},
	}
	for _, tt := range tests {
		if got := tt.id == base; got != tt.equal {
			t.Errorf("%s: equal = %v, want %v (%s vs %s)", tt.name, got, tt.equal, tt.id, base)
		}
	}
	if len(base) != 24 {
		t.Errorf("entity id %q has length %d, want 24", base, len(base))
	}
}

func BenchmarkEntityID(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		EntityID("0e6b1a52-6d5e-4d43-9f7e-3c1d2b0a9f11", i, 123456)
	}
}
