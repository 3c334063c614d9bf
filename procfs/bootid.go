package procfs

import (
	"bytes"
	"fmt"
	"os"
)

// BootID reads sys/kernel/random/boot_id: a random UUID the kernel draws
// once per boot (drivers/char/random.c, proc_do_uuid). The sensor mixes it
// into entity ids so that a pid and start time from two boots never collide.
func (f FS) BootID() (string, error) {
	b, err := os.ReadFile(f.path("sys", "kernel", "random", "boot_id"))
	if err != nil {
		return "", fmt.Errorf("procfs: read boot id: %w", err)
	}
	id := bytes.TrimSpace(b)
	if err := checkUUID(id); err != nil {
		return "", fmt.Errorf("procfs: boot id %q: %w", truncate(id), err)
	}
	return string(id), nil
}

// checkUUID accepts the 8-4-4-4-12 lower- or upper-case hex form the kernel
// prints (the "%pU" format).
func checkUUID(b []byte) error {
	if len(b) != 36 {
		return fmt.Errorf("length %d, want 36", len(b))
	}
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return fmt.Errorf("byte %d is %q, want '-'", i, c)
			}
		default:
			isHex := '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
			if !isHex {
				return fmt.Errorf("byte %d is %q, want a hex digit", i, c)
			}
		}
	}
	return nil
}
