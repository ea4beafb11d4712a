package probe

// record is the scheduler's sink: attach the location, count, spool.
func (p *Probe) record(r Result) {
	if l := p.cfg.Location; l != nil && r.Location == nil {
		loc := *l
		r.Location = &loc
	}
	p.metrics.result(r)
	if _, err := p.spool.Add(r); err != nil {
		p.metrics.spoolError()
		p.log.Error("result lost: spool add failed", "check", r.Check, "err", err)
	}
}
