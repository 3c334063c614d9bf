// Package procfs speaks /proc: it reads one process (stat, comm, exe,
// cmdline, cwd, status), scans all processes at start, reads the boot id,
// and listens to the kernel's proc connector (NETLINK_CONNECTOR, cn_proc)
// for fork and exit events.
//
// Like prometheus/procfs, the root is a value (FS) so tests run against
// fixture trees captured from real machines as well as the real /proc.
//
// Reading order for a newcomer: fs.go (FS, Proc, ErrGone), stat.go and
// files.go (one parser per /proc file), scan.go (the start-up scan),
// cnproc_wire.go (the connector's bytes), cnproc_listener.go and
// cnproc_handle.go (socket and event decoding), cnproc_event.go (what the
// sensor receives), cnproc_clock.go (monotonic, boot and wall clocks).
//
// Start times are /proc clock ticks since boot (Stat.StartTime, see
// UserHZ): the sensor derives entity ids from them, so the listener reads
// each forked child's start time from /proc rather than computing it.
package procfs
