package sim

// The account's concurrency pools, kept as running totals. Every change
// of a PC config (Put, Delete, a deleted alias) goes through setPC or
// deletePC and every change of a reservation through setReserved, so
// the totals stay exact and a limit check costs O(1) however many
// functions the account has. recount is the slow truth they are tested
// against.

// setPC adds or replaces a PC config.
func (w *World) setPC(f *function, pc *pcConfig) {
	delta := pc.requested
	if old := f.pcs[pc.qualifier]; old != nil {
		delta -= old.requested
	}
	w.adjustPC(f, delta)
	pc.stats = w.stats.target(f.name, pc.qualifier)
	f.pcs[pc.qualifier] = pc
	f.reindexPCs()
}

// deletePC removes qualifier q's config, if any.
func (w *World) deletePC(f *function, q string) {
	old := f.pcs[q]
	if old == nil {
		return
	}
	w.adjustPC(f, -old.requested)
	delete(f.pcs, q)
	f.reindexPCs()
}

// adjustPC moves f's requested PC by delta, in the unreserved pool too
// when f has no reservation of its own.
func (w *World) adjustPC(f *function, delta int) {
	f.pcTotal += delta
	if f.reserved == nil {
		w.unreservedPC += delta
	}
}

// setReserved sets f's reserved concurrency (nil: none). f's PC leaves the
// unreserved pool when it gains a reservation and returns when it loses it.
func (w *World) setReserved(f *function, r *int) {
	if f.reserved != nil {
		w.reservedTotal -= *f.reserved
	} else {
		w.unreservedPC -= f.pcTotal
	}
	f.reserved = r
	if r != nil {
		w.reservedTotal += *r
	} else {
		w.unreservedPC += f.pcTotal
	}
}

// unreservedLocked is the account limit minus reserved concurrency: what
// GetAccountSettings reports as UnreservedConcurrentExecutions (the
// documented definition; whether AWS also subtracts PC is unconfirmed).
func (w *World) unreservedLocked() int {
	return w.sc.Account.ConcurrentExecutions - w.reservedTotal
}

// unreservedPCLocked is the PC requested on functions without reserved
// concurrency, except f's config on q: it comes out of the unreserved pool.
func (w *World) unreservedPCLocked(f *function, q string) int {
	total := w.unreservedPC
	if pc := f.pcs[q]; pc != nil && f.reserved == nil {
		total -= pc.requested
	}
	return total
}

// accountTotals is the state of the running totals.
type accountTotals struct {
	reserved, unreservedPC int
	pcByFunction           map[string]int
}

func (w *World) totalsLocked() accountTotals {
	t := accountTotals{reserved: w.reservedTotal, unreservedPC: w.unreservedPC, pcByFunction: map[string]int{}}
	for name, f := range w.funcs {
		t.pcByFunction[name] = f.pcTotal
	}
	return t
}

// recountLocked computes the totals from scratch, O(functions × configs).
func (w *World) recountLocked() accountTotals {
	t := accountTotals{pcByFunction: map[string]int{}}
	for name, f := range w.funcs {
		pc := 0
		for _, c := range f.pcs {
			pc += c.requested
		}
		t.pcByFunction[name] = pc
		if f.reserved != nil {
			t.reserved += *f.reserved
		} else {
			t.unreservedPC += pc
		}
	}
	return t
}
