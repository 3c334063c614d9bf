// Package procfs speaks /proc: it reads one process (stat, comm, exe,
// cmdline, cwd, status), scans all processes at start, reads the boot id,
// and listens to the kernel's proc connector (NETLINK_CONNECTOR, cn_proc)
// for fork and exit events.
//
// Like prometheus/procfs, the root is a value (FS) so tests run against
// fixture trees captured from real machines as well as the real /proc.
package procfs
