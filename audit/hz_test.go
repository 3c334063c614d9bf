package audit

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestJiffies(t *testing.T) {
	tests := []struct {
		d    time.Duration
		hz   int
		want uint32
	}{
		{time.Second, 250, 250},
		{time.Second, 1000, 1000},
		{100 * time.Millisecond, 100, 10},
		{time.Millisecond, 100, 1}, // at least one tick
		{0, 250, 0},
		{-time.Second, 250, 0},
	}
	for _, tt := range tests {
		if got := jiffies(tt.d, tt.hz); got != tt.want {
			t.Errorf("jiffies(%v, %d) = %d, want %d", tt.d, tt.hz, got, tt.want)
		}
	}
}

func TestKernelHZ(t *testing.T) {
	if got := kernelHZ(t.TempDir()); got != assumedHZ {
		t.Errorf("no config: %d, want %d", got, assumedHZ)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := "# CONFIG_HZ_100 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n"
	if err := os.WriteFile(dir+"/config-"+unix.ByteSliceToString(u.Release[:]), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := kernelHZ(dir); got != 250 {
		t.Errorf("CONFIG_HZ=250: %d", got)
	}
}
