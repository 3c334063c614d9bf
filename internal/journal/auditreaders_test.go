package journal

import (
	"os"
	"slices"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/journaltest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// netlinkSample is /proc/net/netlink from this Debian 12 machine (6.18) with
// a standalone systemd-journald running: inode 52372 is its audit
// multicast socket (Eth 9, Groups 1).
const netlinkSample = `sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
000000003c84a052 9   26490      00000000 0        0        0     2        0        48356   
00000000e6eb5c3f 9   28797      00000001 0        0        0     2        0        52372   
0000000055c6c819 9   28571      00000000 327680   0        0     2        0        51937   
0000000040f6bd6e 0   0          00000001 0        0        0     2        0        6       
00000000aaaaaaaa 11  1          00000001 0        0        0     2        0        777     
`

func TestParseAuditReaderInodes(t *testing.T) {
	tests := []struct {
		name, in string
		want     []uint64
		wantErr  bool
	}{
		{"journald reading audit", netlinkSample, []uint64{52372}, false},
		{"header only", "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\n", nil, false},
		{"bad header", "sk Pid\n", nil, true},
		{"short line", "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\nff 9 1\n", nil, true},
		{"bad groups", "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\nff 9 1 zz 0 0 0 2 0 5\n", nil, true},
		{"group 2 only", "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\nff 9 1 00000002 0 0 0 2 0 5\n", nil, false},
	}
	for _, tt := range tests {
		got, err := ParseAuditReaderInodes([]byte(tt.in))
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, %v; want %v, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseAuditReaderInodes(f *testing.F) {
	f.Add([]byte(netlinkSample))
	f.Add([]byte("sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseAuditReaderInodes(b) // must not panic
	})
}

// TestRealJournaldReadsAudit checks, on the real kernel, what the README
// says: a journald started standalone subscribes to the audit multicast
// group by itself, and AuditMulticastReaders names it.
func TestRealJournaldReadsAudit(t *testing.T) {
	if _, err := os.Stat("/proc/self/loginuid"); err != nil {
		testenv.SkipKernelFeature(t, "syscall auditing (CONFIG_AUDITSYSCALL)", "stat /proc/self/loginuid", err)
	}
	j := journaltest.StartPrivate(t)
	readers, err := AuditMulticastReaders("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readers {
		if r.PID == j.PID() {
			if !r.IsJournald() {
				t.Errorf("journald %d has comm %q: IsJournald false", r.PID, r.Comm)
			}
			return
		}
	}
	t.Errorf("journald %d reads the audit multicast group but is not among %v", j.PID(), readers)
}
