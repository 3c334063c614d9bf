// Package rules speaks detection: it loads rule files (TOML in the shape of
// Elastic's detection-rules, plus an [aptsentinel] block of ours), compiles
// their EQL queries with package eql against Schema (the ECS view of
// Event), applies the admins' disables and exceptions from rules.d, and
// runs the rules over the sensor's events with Engine.
//
// The input is Event (event.go), built by the sensor from audit and /proc
// data; the output is Match, the rule and its matched events in sequence
// order. Data flows audit/, procfs/ -> sensor/ -> rules/ -> alert.
//
// Rule files: shipped/*.toml are embedded (Source "builtin") and installed
// read-only to ShippedDir; LocalDir (/etc/aptsentinel/rules.d) holds the
// admins' files, read in name order:
//
//	[rule]                      # a new rule, or one with a shipped rule's id to replace it
//	rule_id = "..."; name = "..."; version = 1; risk_score = 47; severity = "medium"
//	type = "eql"; language = "eql"; query = '''sequence ...'''
//	[[rule.threat]] ...         # MITRE ATT&CK, as detection-rules writes it
//	[aptsentinel]               # optional: how the alert reads
//	message = "{{rule.name}}: {{process.name}} ... {{last.destination}}"
//	event_category = ["process", "network"]; event_type = ["start", "connection"]
//
//	disable = ["rule id", ...]  # top level, before any table
//	[[exception]]               # the rule's step (1-based; 0 or absent: every step)
//	rule_id = "..."; step = 1; reason = "..."; condition = '''EQL condition'''
//
// An exception adds `and not (condition)` to the step, so a site silences
// its own hook without editing a shipped file. Message placeholders:
// {{field.name}} is an ECS field of the first event, {{last.field.name}}
// of the last, {{rule.name}}/{{rule.id}}/{{rule.version}} of the rule
// (package alert renders it).
//
// Choices where the upstream text leaves room, each tested:
//   - An IPv4-mapped IPv6 destination (::ffff:127.0.0.1) is judged as the
//     IPv4 address it carries, and an IPv6 zone is ignored; otherwise a
//     connect() through an AF_INET6 socket would bypass the loopback and
//     private-range exclusions (schema.go, destination.ip).
//   - An event whose join key is empty (the sensor could not tell its
//     entity id) never starts or joins a sequence: joining two unknowns
//     would link unrelated processes. Such events are counted
//     (EngineStats.Unkeyed), not dropped silently.
//   - Time is the events' own time (@timestamp). A pending sequence is kept
//     until the newest event time, minus the allowed lateness
//     (EngineConfig.Lateness, default 130 s), passes its window, so a
//     connect() audited late but stamped inside the window still matches.
//   - Of two first events for the same key, the later timestamp wins, also
//     when they arrive out of order.
package rules
