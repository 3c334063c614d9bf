package procfs

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// clockOffsets relates the proc connector's timestamps to the clocks the
// sensor needs. The kernel stamps events with ktime_get_ns()
// (drivers/connector/cn_proc.c), which is CLOCK_MONOTONIC: it stops while
// the machine is suspended. /proc's start times count from boot including
// suspend (CLOCK_BOOTTIME, task->start_boottime), and alerts want wall-clock
// time (CLOCK_REALTIME).
type clockOffsets struct {
	// bootMinusMono is CLOCK_BOOTTIME - CLOCK_MONOTONIC: the total time spent
	// suspended since boot.
	bootMinusMono int64
	// realMinusMono is CLOCK_REALTIME - CLOCK_MONOTONIC.
	realMinusMono int64
}

// readClockOffsets measures both offsets now. The monotonic clock is read
// before and after the others and averaged, so the offsets are off by at
// most half the time of three vDSO calls (tens of nanoseconds).
//
// The listener measures them again for every batch of messages it receives,
// so a suspend or a wall-clock step after start is accounted for as soon as
// the next event arrives.
func readClockOffsets() (clockOffsets, error) {
	var mono1, boot, real, mono2 unix.Timespec
	for _, c := range [...]struct {
		id int32
		ts *unix.Timespec
	}{{unix.CLOCK_MONOTONIC, &mono1}, {unix.CLOCK_BOOTTIME, &boot}, {unix.CLOCK_REALTIME, &real}, {unix.CLOCK_MONOTONIC, &mono2}} {
		if err := clockGettime(c.id, c.ts); err != nil {
			return clockOffsets{}, fmt.Errorf("procfs: clock_gettime(%d): %w", c.id, err)
		}
	}
	mono := (mono1.Nano() + mono2.Nano()) / 2
	return clockOffsets{bootMinusMono: boot.Nano() - mono, realMinusMono: real.Nano() - mono}, nil
}

// clockGettime is clock_gettime(2) as a raw system call: it never blocks,
// and the listener calls it four times per read, where the runtime's
// syscall bookkeeping (unix.ClockGettime) would wake the runtime's monitor
// thread when the process was idle.
func clockGettime(id int32, ts *unix.Timespec) error {
	_, _, errno := unix.RawSyscall(unix.SYS_CLOCK_GETTIME, uintptr(id), uintptr(unsafe.Pointer(ts)), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// wallTime converts a CLOCK_MONOTONIC timestamp to wall-clock time.
func (o clockOffsets) wallTime(monoNS uint64) time.Time {
	return time.Unix(0, int64(monoNS)+o.realMinusMono)
}

// startTicks converts a CLOCK_MONOTONIC timestamp to /proc clock ticks
// since boot, the unit of Stat.StartTime.
//
// For a fork event this approximates the child's start time: the kernel
// sets task->start_boottime in copy_process a little before it stamps the
// fork event, and both are truncated to ticks, so the result equals the
// exact start time or is one tick above it when a tick boundary fell
// between the two instants.
func (o clockOffsets) startTicks(monoNS uint64) uint64 {
	return DurationToTicks(time.Duration(int64(monoNS) + o.bootMinusMono))
}

// sinceTick is how long after the last tick boundary of the boot clock a
// CLOCK_MONOTONIC timestamp lies.
func (o clockOffsets) sinceTick(monoNS uint64) time.Duration {
	d := time.Duration(int64(monoNS) + o.bootMinusMono)
	if d < 0 {
		return 0
	}
	return d % tick
}
