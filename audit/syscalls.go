package audit

// Arch values of the SYSCALL record's arch= field: the AUDIT_ARCH_* constants
// of include/uapi/linux/audit.h (ELF machine | 64-bit flag | little-endian
// flag).
const (
	ArchX8664   uint32 = 0xc000003e // AUDIT_ARCH_X86_64
	ArchI386    uint32 = 0x40000003 // AUDIT_ARCH_I386 (also 32-bit tasks on x86_64)
	ArchAArch64 uint32 = 0xc00000b7 // AUDIT_ARCH_AARCH64
)

// syscallKind is what the sensor cares about in a syscall.
type syscallKind uint8

const (
	kindOther syscallKind = iota
	kindExec
	kindConnect
	// kindURingEnter is io_uring_enter: a connect when the event also has
	// a URINGOP record of IORING_OP_CONNECT (see uring.go).
	kindURingEnter
	// kindFile is a syscall that can make a new name in a directory
	// (file.go): a File when its PATH records show a CREATE.
	kindFile
)

// sysIOURingEnter is io_uring_enter's number, the same on x86_64, i386
// and arm64 (the syscall came after the tables were unified, Linux 5.1).
const sysIOURingEnter = 426

// sysConnect is socketcall(2)'s call number for connect: SYS_CONNECT in
// include/uapi/linux/net.h.
const sysConnect = 3

// MsgFastOpen is MSG_FASTOPEN (include/linux/socket.h): sendto, sendmsg or
// sendmmsg with it on an unconnected TCP socket opens the connection, TCP
// Fast Open's SYN carrying the data (net/ipv4/tcp.c tcp_sendmsg_fastopen).
// Such a call is a connection attempt as connect() is, and its address is
// in the event's SOCKADDR record (net/socket.c move_addr_to_kernel).
const MsgFastOpen = 0x20000000

// args holds a SYSCALL record's first four arguments.
type args struct{ a0, a2, a3 uint64 }

// sendFlagsArg reports, for a send call that can carry MSG_FASTOPEN, which
// argument holds its flags: 3 for sendto(fd, buf, len, flags, addr, alen)
// and sendmmsg(fd, vec, vlen, flags), 2 for sendmsg(fd, msg, flags); 0 for
// any other syscall. i386's socketcall(2) passes the flags in memory, out
// of audit's reach: those sends are not seen.
func sendFlagsArg(arch uint32, nr uint64) int {
	switch arch {
	case ArchX8664:
		switch nr {
		case 44, 307: // sendto, sendmmsg
			return 3
		case 46: // sendmsg
			return 2
		}
	case ArchI386:
		switch nr {
		case 369, 345: // sendto, sendmmsg (Linux 4.3 for sendto)
			return 3
		case 370: // sendmsg
			return 2
		}
	case ArchAArch64:
		switch nr {
		case 206, 269: // sendto, sendmmsg
			return 3
		case 211: // sendmsg
			return 2
		}
	}
	return 0
}

// classify maps arch and syscall number (and, for socketcall, its first
// argument; for sends, their flags) to a kind. It goes by number, not by
// rule key, because an operator's rule with another key can produce the
// same event. Numbers are from the kernel's syscall tables:
// arch/x86/entry/syscalls/syscall_64.tbl, syscall_32.tbl and
// include/uapi/asm-generic/unistd.h for arm64.
func classify(arch uint32, nr uint64, a args) syscallKind {
	switch sendFlagsArg(arch, nr) {
	case 3:
		if a.a3&MsgFastOpen != 0 {
			return kindConnect
		}
		return kindOther
	case 2:
		if a.a2&MsgFastOpen != 0 {
			return kindConnect
		}
		return kindOther
	}
	if nr == sysIOURingEnter && (arch == ArchX8664 || arch == ArchI386 || arch == ArchAArch64) {
		return kindURingEnter
	}
	if isFileSyscall(arch, nr) {
		return kindFile
	}
	switch arch {
	case ArchX8664:
		switch nr {
		case 59, 322: // execve, execveat
			return kindExec
		case 42: // connect
			return kindConnect
		}
	case ArchI386:
		switch nr {
		case 11, 358: // execve, execveat
			return kindExec
		case 362: // connect
			return kindConnect
		case 102: // socketcall(call, args)
			if a.a0 == sysConnect {
				return kindConnect
			}
		}
	case ArchAArch64:
		switch nr {
		case 221, 281: // execve, execveat
			return kindExec
		case 203: // connect
			return kindConnect
		}
	}
	return kindOther
}
