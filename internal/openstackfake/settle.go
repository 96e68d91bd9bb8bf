package openstackfake

import "time"

// Settling of transient statuses (volume creating and extending, snapshot
// creating). A transition settles at the first observation at which
// either condition holds:
//
//   - reads: the object has already been shown in the transient status
//     settleReads times since the transition began (WithSettleReads). A
//     read is a GET of the object or its appearing in a list answer;
//   - time: settleAfter has passed since the transition began
//     (WithSettleAfter), measured on the monotonic clock.
//
// The time condition is about the clock, not the observer, so it is
// applied whenever anything looks at the object (a read or a list, but
// also a delete, an action, a quota check, VolumeStatus); the read
// condition only by reads. Nothing runs in the background: settling is
// lazy, so a volume that nobody looks at keeps its old status in memory
// yet can never be seen with it.

// begin puts t in a transient status that later settles to "to".
func (s *Server) begin(t transient, status, to string) {
	l := t.life()
	l.began = time.Now()
	l.status, l.settleTo, l.settleIn, l.updated = status, to, s.settleReads, stamp(l.began)
}

// tick settles t if its transition has lasted settleAfter, dating the
// new status at the instant it was due rather than when it is noticed.
func (s *Server) tick(t transient) {
	l := t.life()
	if l.settleTo == "" || s.settleAfter <= 0 {
		return
	}
	if due := l.began.Add(s.settleAfter); !time.Now().Before(due) {
		s.settle(t, stamp(due))
	}
}

// read is one observation of t by a caller.
func (s *Server) read(t transient) {
	s.tick(t)
	l := t.life()
	if l.settleTo == "" || s.settleReads < 0 {
		return
	}
	if l.settleIn > 0 {
		l.settleIn--
		return
	}
	s.settle(t, now())
}

// shownOnRead is the status a read of t would show now, without counting
// as one: list filters on status use it, so that a list reads only the
// objects it returns.
func (s *Server) shownOnRead(t transient) string {
	s.tick(t)
	l := t.life()
	if l.settleTo != "" && s.settleReads >= 0 && l.settleIn == 0 {
		to, _ := l.outcome()
		return to
	}
	return l.status
}

// outcome is where the pending transition lands and whether it succeeds.
func (l *lifecycle) outcome() (status string, ok bool) {
	if f, found := failedStatus[l.status]; found && l.failNext {
		return f, false
	}
	return l.settleTo, true
}

// settle lands t's pending transition now, dated at.
func (s *Server) settle(t transient, at time.Time) {
	l := t.life()
	to, ok := l.outcome()
	l.status, l.settleTo, l.settleIn, l.failNext, l.updated = to, "", 0, false, at
	t.landed(ok)
}
