package audit

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestStatusRoundTripAllSizes(t *testing.T) {
	full := Status{
		Mask: 1, Enabled: 2, Failure: 3, PID: 4, RateLimit: 5, BacklogLimit: 6,
		Lost: 7, Backlog: 8, FeatureBitmap: 9, BacklogWaitTime: 10, BacklogWaitTimeActual: 11,
	}
	tests := []struct {
		size int
		want Status // what survives that size
	}{
		{StatusSizeV1, Status{Mask: 1, Enabled: 2, Failure: 3, PID: 4, RateLimit: 5, BacklogLimit: 6, Lost: 7, Backlog: 8, Size: 32}},
		{StatusSizeV2, Status{Mask: 1, Enabled: 2, Failure: 3, PID: 4, RateLimit: 5, BacklogLimit: 6, Lost: 7, Backlog: 8, FeatureBitmap: 9, Size: 36}},
		{StatusSizeV3, Status{Mask: 1, Enabled: 2, Failure: 3, PID: 4, RateLimit: 5, BacklogLimit: 6, Lost: 7, Backlog: 8, FeatureBitmap: 9, BacklogWaitTime: 10, Size: 40}},
		{StatusSizeV4, func() Status { s := full; s.Size = 44; return s }()},
	}
	for _, tt := range tests {
		in := full
		in.Size = tt.size
		b, err := in.MarshalBinary()
		if err != nil {
			t.Fatalf("size %d: %v", tt.size, err)
		}
		if len(b) != tt.size {
			t.Errorf("size %d: marshalled %d bytes", tt.size, len(b))
		}
		var got Status
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("size %d: %v", tt.size, err)
		}
		if got != tt.want {
			t.Errorf("size %d: got %+v, want %+v", tt.size, got, tt.want)
		}
	}
}

func TestStatusWireOrder(t *testing.T) {
	b := make([]byte, 44)
	binary.NativeEndian.PutUint32(b[12:], 1234) // pid is the 4th field
	binary.NativeEndian.PutUint32(b[24:], 99)   // lost is the 7th
	var s Status
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if s.PID != 1234 || s.Lost != 99 {
		t.Errorf("pid %d lost %d, want 1234 and 99", s.PID, s.Lost)
	}
}

func TestStatusRejectsBadInput(t *testing.T) {
	var s Status
	for _, n := range []int{0, 4, 31} {
		if err := s.UnmarshalBinary(make([]byte, n)); err == nil || !strings.Contains(err.Error(), "at least 32") {
			t.Errorf("%d bytes: err %v, want a length error", n, err)
		}
	}
	// A future kernel's longer struct is read up to the fields we know.
	if err := s.UnmarshalBinary(make([]byte, 52)); err != nil || s.Size != StatusSizeV4 {
		t.Errorf("52 bytes: err %v size %d", err, s.Size)
	}
	if _, err := (Status{Size: 38}).MarshalBinary(); err == nil {
		t.Error("marshal with size 38 did not fail")
	}
}

func TestHasBacklogWaitTime(t *testing.T) {
	tests := []struct {
		s    Status
		want bool
	}{
		{Status{FeatureBitmap: 0x7f, Size: 44}, true},
		{Status{FeatureBitmap: 0x01, Size: 44}, false},
		{Status{FeatureBitmap: 0x02, Size: 36}, false},
	}
	for _, tt := range tests {
		if got := tt.s.HasBacklogWaitTime(); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt.s, got, tt.want)
		}
	}
}

func FuzzStatusUnmarshal(f *testing.F) {
	for _, n := range []int{0, 31, 32, 36, 40, 44, 60} {
		f.Add(make([]byte, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Status
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		out, err := s.MarshalBinary()
		if err != nil {
			t.Fatalf("re-marshal of %d bytes: %v", len(b), err)
		}
		if string(out) != string(b[:s.Size]) {
			t.Fatalf("round trip changed the bytes")
		}
	})
}

func BenchmarkStatusUnmarshal(b *testing.B) {
	buf, _ := Status{PID: 1, Lost: 2}.MarshalBinary()
	b.ReportAllocs()
	var s Status
	for b.Loop() {
		if err := s.UnmarshalBinary(buf); err != nil {
			b.Fatal(err)
		}
	}
}
