package probe

import (
	"log/slog"
	"time"
)

// failureLogEvery is how often a failure that lasts is logged again.
const failureLogEvery = 5 * time.Minute

// failureLog keeps an unreachable collector to one loud line, then one
// line every failureLogEvery while it lasts (sooner when the error
// changes), and one when uploads work again, instead of a WARN per
// attempt. The counts go to jangkau_probe_uploads_total{result="error"}.
// Only the uploader's goroutine uses it.
type failureLog struct {
	since      time.Time // first failure of the current run of failures
	lastLogged time.Time
	lastErr    string
	now        func() time.Time
}

// failed records the failures-th failure in a row, explained by msg,
// after which the uploader waits retryIn; permanent says it will not heal
// by retrying.
func (f *failureLog) failed(log *slog.Logger, msg string, permanent bool, failures int, retryIn time.Duration, url string, spooled int) {
	now := f.clock()
	if failures == 1 || f.since.IsZero() {
		f.since = now
	}
	attrs := []any{"url", url, "err", msg, "failures", failures, "failing_for", now.Sub(f.since).Round(time.Second), "retry_in", retryIn, "spooled", spooled}
	switch {
	case failures == 1 || msg != f.lastErr:
		if permanent {
			log.Error("upload failed and will not heal by retrying: fix the config; results stay in the spool, retried every "+backoffCap.String(), attrs...)
		} else {
			log.Warn("cannot upload to the collector; results stay in the spool and are retried with back-off up to "+backoffCap.String()+"; logged again every "+failureLogEvery.String()+" while it lasts", attrs...)
		}
	case now.Sub(f.lastLogged) >= failureLogEvery:
		log.Warn("still cannot upload to the collector", attrs...)
	default:
		log.Debug("upload failed", attrs...)
		return
	}
	f.lastLogged, f.lastErr = now, msg
}

// recovered logs the end of a run of failures failures.
func (f *failureLog) recovered(log *slog.Logger, failures int, spooled int) {
	if failures == 0 {
		return
	}
	log.Info("uploading to the collector again", "failures", failures, "failed_for", f.clock().Sub(f.since).Round(time.Second), "spooled", spooled)
	f.since, f.lastErr = time.Time{}, ""
}

func (f *failureLog) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}
