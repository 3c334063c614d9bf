package audit

import (
	"encoding/binary"
	"fmt"
)

// Sizes of struct audit_status as kernels have sent it over time
// (include/uapi/linux/audit.h): eight fields before 3.14, then "version"
// (later feature_bitmap), backlog_wait_time (3.14) and
// backlog_wait_time_actual (5.10).
const (
	StatusSizeV1 = 32 // mask .. backlog
	StatusSizeV2 = 36 // + version / feature_bitmap
	StatusSizeV3 = 40 // + backlog_wait_time
	StatusSizeV4 = 44 // + backlog_wait_time_actual
)

// Status is struct audit_status, the payload of AUDIT_GET replies and
// AUDIT_SET requests. Fields past Size are zero because the kernel did not
// send them.
type Status struct {
	Mask                  uint32 // which fields an AUDIT_SET changes
	Enabled               uint32 // 0 off, 1 on, 2 locked until reboot
	Failure               uint32 // failure action: 0 silent, 1 printk, 2 panic
	PID                   uint32 // tgid of the registered audit daemon, 0 if none
	RateLimit             uint32 // records per second, 0 unlimited
	BacklogLimit          uint32 // queued records before loss (or waiting)
	Lost                  uint32 // records the kernel dropped since boot
	Backlog               uint32 // records queued now
	FeatureBitmap         uint32 // AUDIT_FEATURE_BITMAP_* (was "version")
	BacklogWaitTime       uint32 // jiffies a syscall waits on a full backlog
	BacklogWaitTimeActual uint32 // jiffies syscalls spent waiting
	// Size is the wire size: one of the StatusSize constants. Zero means
	// StatusSizeV4 when marshalling.
	Size int
}

// HasBacklogWaitTime reports whether the kernel lets userspace set
// backlog_wait_time (AUDIT_FEATURE_BITMAP_BACKLOG_WAIT_TIME) and sent it.
func (s Status) HasBacklogWaitTime() bool {
	return s.FeatureBitmap&featureBacklogWaitTime != 0 && s.Size >= StatusSizeV3
}

// fields lists the struct's fields in wire order.
func (s *Status) fields() []*uint32 {
	return []*uint32{
		&s.Mask, &s.Enabled, &s.Failure, &s.PID, &s.RateLimit,
		&s.BacklogLimit, &s.Lost, &s.Backlog, &s.FeatureBitmap,
		&s.BacklogWaitTime, &s.BacklogWaitTimeActual,
	}
}

// MarshalBinary encodes s in host byte order (netlink is host-endian) with
// Size bytes.
func (s Status) MarshalBinary() ([]byte, error) {
	size := s.Size
	if size == 0 {
		size = StatusSizeV4
	}
	switch size {
	case StatusSizeV1, StatusSizeV2, StatusSizeV3, StatusSizeV4:
	default:
		return nil, fmt.Errorf("audit: marshal status: size %d is not 32, 36, 40 or 44", size)
	}
	b := make([]byte, size)
	for i, f := range s.fields()[:size/4] {
		binary.NativeEndian.PutUint32(b[i*4:], *f)
	}
	return b, nil
}

// UnmarshalBinary decodes an audit_status of any historical size; bytes past
// the newest known field (a future kernel) are ignored.
func (s *Status) UnmarshalBinary(b []byte) error {
	if len(b) < StatusSizeV1 {
		return fmt.Errorf("audit: unmarshal status: %d bytes, need at least %d", len(b), StatusSizeV1)
	}
	*s = Status{}
	fields := s.fields()
	n := min(len(b)/4, len(fields))
	for i, f := range fields[:n] {
		*f = binary.NativeEndian.Uint32(b[i*4:])
	}
	s.Size = n * 4
	return nil
}
