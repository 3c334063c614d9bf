package procfs

import "time"

// UserHZ is the unit of the clock-tick fields of /proc (stat field 22 and
// others): sysconf(_SC_CLK_TCK). The kernel fixes USER_HZ at 100 on every
// architecture Go supports on Linux (include/asm-generic/param.h; alpha,
// which used 1024, is not a Go target), independently of CONFIG_HZ, because
// it is ABI. Go has no sysconf, and reading AT_CLKTCK from the auxiliary
// vector would only ever return the same 100.
const UserHZ = 100

// tick is the duration of one USER_HZ clock tick.
const tick = time.Second / UserHZ

// TicksToDuration converts a /proc clock-tick count (such as
// Stat.StartTime) to a duration since boot.
func TicksToDuration(ticks uint64) time.Duration {
	return time.Duration(ticks) * tick
}

// DurationToTicks converts a duration since boot to /proc clock ticks,
// rounding down as the kernel does (nsec_to_clock_t in kernel/time/time.c
// divides). Negative durations give 0.
func DurationToTicks(d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(d / tick)
}

// SameStart reports whether two start times of one pid are the same
// process's: equal, or one tick apart, as a start computed from a fork's
// stamp may be one tick high (Fork.Child). A pid is not reused within a
// tick: that would take pid_max forks in 10 ms.
func SameStart(a, b uint64) bool { return a == b || a+1 == b || b+1 == a }
