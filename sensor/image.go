package sensor

// A process's image is what an exec gives it and a fork copies to the
// child: comm, executable, argv, working directory and uid.
//
// The two sockets are not in step. The proc connector reports a fork the
// moment it happens; the audit record of an exec that came before it may
// still be in the kernel's queue or in a batch window. So a fork can be
// applied while the parent's entity still shows the image it had before
// its latest exec, and the child would keep that image for life: apt's
// hook runner (a fork of apt that never execs, the hook shell's parent)
// would be named and described as the program that exec'd apt.
//
// The connector reports every exec too, in order with the forks, so
// counting execs tells which of the parent's images a child was forked
// with. A child forked after an exec whose audit event has not been
// applied yet is the parent's heir: it takes the image when that event
// is applied, and passes it on to its own heirs (a subshell's subshell).

// maxHeirs bounds the children one process keeps waiting for its image;
// one beyond it keeps the image it was forked with.
const maxHeirs = 16

// heir is a child waiting for the image of its parent's exec number exec.
type heir struct {
	p    *Entity
	exec int
}

// awaitsImage reports whether p's image is older than its latest exec: an
// exec the connector reported has no audit event applied yet, or p is a
// child waiting for its parent's.
func (p *Entity) awaitsImage() bool { return p.auditExecs < p.connExecs || p.heirPending }

// inherit gives the new child c its parent's image, and makes it the
// parent's heir when that image is not the one of the parent's latest exec.
func inherit(c, parent *Entity) {
	copyImage(c, parent)
	if !parent.awaitsImage() {
		return
	}
	if len(parent.heirs) == maxHeirs {
		parent.heirs[0].p.heirPending = false
		parent.heirs = append(parent.heirs[:0], parent.heirs[1:]...)
	}
	c.heirPending = true
	parent.heirs = append(parent.heirs, heir{p: c, exec: parent.connExecs})
}

// copyImage copies from's image to p; a name p set itself (prctl) stays.
func copyImage(p, from *Entity) {
	if !p.renamed {
		p.Name = from.Name
	}
	p.Executable, p.Args, p.ArgsTruncated, p.Argc = from.Executable, from.Args, from.ArgsTruncated, from.Argc
	p.Cwd, p.UID = from.Cwd, from.UID
}

// passImage hands p's image, just set by its exec number p.auditExecs (or
// by its own parent, for an heir), to the heirs that wait for that one;
// heirs of later execs go on waiting.
func (s *sensor) passImage(p *Entity) {
	kept := p.heirs[:0]
	for _, h := range p.heirs {
		switch {
		case h.exec > p.auditExecs:
			kept = append(kept, h)
		case h.exec == p.auditExecs && h.p.heirPending && h.p.auditExecs == 0:
			h.p.heirPending = false
			copyImage(h.p, p)
			s.tree.Resize(h.p)
			s.passImage(h.p)
		default:
			h.p.heirPending = false
		}
	}
	clear(p.heirs[len(kept):])
	p.heirs = kept
	if len(p.heirs) == 0 {
		p.heirs = nil
	}
}
