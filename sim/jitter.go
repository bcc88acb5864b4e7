package sim

import (
	"hash/fnv"
	"strconv"
	"time"
)

// publishJitter is the extra publication delay J of function fn's minute m:
// uniform over the whole seconds 0..⌊publish_jitter⌋ (the metric store keeps
// visibility to the second), drawn from a hash of the seed, fn and m so it
// does not depend on call order or on which other functions exist. A
// function's loads and its FunctionName aggregate share it.
//
// fn "" is the account-level aggregate's own draw. We give it an independent
// draw rather than the max over functions: Lambda publishes the account
// series separately, nobody reads it to decide whether a function's minute
// is in, and a max of N draws would make its lag grow with the number of
// functions in the scenario — an artefact, not a behaviour.
func (w *World) publishJitter(fn string, m time.Time) time.Duration {
	span := w.sc.Metrics.PublishJitter.Duration / time.Second
	if span <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(w.sc.Seed, 10)))
	h.Write([]byte("\x00publish_jitter\x00" + fn + "\x00" + strconv.FormatInt(m.Unix(), 10)))
	// The modulo's bias is below 2⁻³² for any span a scenario would use.
	return time.Duration(splitmix(h.Sum64())%uint64(span+1)) * time.Second
}
