package controller

import (
	"testing"
	"time"
)

// BenchmarkPredict: one target's prediction over three hours of bursts
// every 4 minutes (many starts: the expensive case) and every 15.
func BenchmarkPredict(b *testing.B) {
	for _, tc := range []struct {
		name  string
		every int
	}{{name: "bursts-every-4m", every: 4}, {name: "bursts-every-15m", every: 15}} {
		conc := trace(3, every(tc.every, indexOf(12, 2), 140))
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				_ = Predict(conc, winEnd, t0, time.Minute, 3*time.Minute, 0, 0.7)
			}
		})
	}
}
