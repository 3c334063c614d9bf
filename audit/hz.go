package audit

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// assumedHZ is the tick rate used when the kernel's config cannot be read:
// the lowest Linux offers, so a wait converted with it is never longer than
// asked for (with a faster tick it is shorter).
const assumedHZ = 100

// kernelHZ returns CONFIG_HZ from /boot/config-RELEASE, or assumedHZ.
// backlog_wait_time is in jiffies (kernel/audit.c audit_backlog_wait_time,
// 60 * HZ by default) and nothing in /proc tells HZ (USER_HZ, the unit of
// /proc times, is another).
func kernelHZ(bootDir string) int {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return assumedHZ
	}
	f, err := os.Open(bootDir + "/config-" + unix.ByteSliceToString(u.Release[:]))
	if err != nil {
		return assumedHZ
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CONFIG_HZ="); ok {
			if hz, err := strconv.Atoi(v); err == nil && hz > 0 {
				return hz
			}
		}
	}
	return assumedHZ
}

// jiffies converts d to ticks at hz, rounding down, at least 1 for d > 0.
func jiffies(d time.Duration, hz int) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(max(1, int64(d)*int64(hz)/int64(time.Second)))
}
