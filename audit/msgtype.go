package audit

// Control message types of NETLINK_AUDIT (1000-1099), from
// include/uapi/linux/audit.h. Record types (1100 and up) are defined next to
// the record parser (record.go).
const (
	msgGet       = 1000 // AUDIT_GET: get status
	msgSet       = 1001 // AUDIT_SET: set status (enabled, pid, backlog)
	msgAddRule   = 1011 // AUDIT_ADD_RULE: add a rule (audit_rule_data)
	msgDelRule   = 1012 // AUDIT_DEL_RULE: delete a rule (audit_rule_data)
	msgListRules = 1013 // AUDIT_LIST_RULES: list rules (audit_rule_data each)
)

// Netlink control message types (include/uapi/linux/netlink.h).
const (
	nlmsgNoop  = 0x1
	nlmsgError = 0x2
	nlmsgDone  = 0x3
)

// nlmsgHeaderLen is sizeof(struct nlmsghdr).
const nlmsgHeaderLen = 16

// Bits of audit_status.mask: which fields an AUDIT_SET changes
// (include/uapi/linux/audit.h AUDIT_STATUS_*).
const (
	statusEnabled               = 0x0001
	statusFailure               = 0x0002
	statusPID                   = 0x0004
	statusRateLimit             = 0x0008
	statusBacklogLimit          = 0x0010
	statusBacklogWaitTime       = 0x0020
	statusLost                  = 0x0040
	statusBacklogWaitTimeActual = 0x0080
)

// Bits of audit_status.feature_bitmap (include/uapi/linux/audit.h
// AUDIT_FEATURE_BITMAP_*); before 3.14 the field was "version" with the
// same first bits.
const (
	featureBacklogLimit    = 0x0001
	featureBacklogWaitTime = 0x0002
)

// Values of audit_status.enabled (kernel/audit.c AUDIT_OFF/ON/LOCKED).
const (
	enabledOff    = 0
	enabledOn     = 1
	enabledLocked = 2
)

// Rule wire-format constants (include/uapi/linux/audit.h).
const (
	filterExit     = 0x04 // AUDIT_FILTER_EXIT: the syscall exit list
	filterPrepend  = 0x10 // AUDIT_FILTER_PREPEND: insert at the head of the list
	fieldFilterKey = 210  // AUDIT_FILTERKEY: the rule's key string
	fieldWatch     = 105  // AUDIT_WATCH: a file watch's path
	fieldDir       = 107  // AUDIT_DIR: a directory watch's path
	keySeparator   = 0x01 // AUDIT_KEY_SEPARATOR between several keys of one rule
)
