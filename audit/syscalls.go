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
)

// sysConnect is socketcall(2)'s call number for connect: SYS_CONNECT in
// include/uapi/linux/net.h.
const sysConnect = 3

// classify maps arch and syscall number (and, for socketcall, its first
// argument) to a kind. It goes by number, not by rule key, because an
// operator's rule with another key can produce the same event. Numbers are
// from the kernel's syscall tables: arch/x86/entry/syscalls/syscall_64.tbl,
// syscall_32.tbl and include/uapi/asm-generic/unistd.h for arm64.
func classify(arch uint32, nr uint64, a0 uint64) syscallKind {
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
			if a0 == sysConnect {
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
