package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// accountingScenario mixes functions with and without reservations, PC on
// aliases and versions, and a function nothing manages.
const accountingScenario = `
seed: 11
account: {concurrent_executions: 1000, unreserved_min: 100}
allocation: {prep_delay: 5s, rate_per_minute: 6000, decrease_delay: 1s}
functions:
  - {name: a, versions: 4, aliases: [{name: live, version: "1"}, {name: blue, version: "2"}], provisioned: {live: 30}}
  - {name: b, versions: 3, reserved: 200, aliases: [{name: live, version: "3"}], provisioned: {"1": 20, live: 40}}
  - {name: c, versions: 2, aliases: [{name: live, version: "2"}]}
  - {name: unmanaged, versions: 2, provisioned: {"2": 300}}
`

// TestAccountTotalsMatchRecount drives a seeded random sequence of every
// operation that changes PC or reservations and compares the running
// totals with a full recount after each one. Every successful Put of PC or
// of a reservation must also leave the unreserved pool at its minimum or
// above.
func TestAccountTotalsMatchRecount(t *testing.T) {
	w, clk := newTestWorld(t, accountingScenario)
	rng := rand.New(rand.NewPCG(5, 6))
	fns := []string{"a", "b", "c", "unmanaged"}
	qualifiers := []string{"live", "blue", "1", "2", "3"}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	version := func() string { return strconv.Itoa(1 + rng.IntN(3)) }
	oks := map[string]int{}
	for i := range 3000 {
		fn, q := pick(fns), pick(qualifiers)
		var op string
		var err error
		switch k := rng.IntN(10); k {
		case 0, 1, 2:
			op = "put"
			_, err = w.PutProvisionedConcurrency(fn, q, 1+rng.IntN(120))
		case 3:
			op = "delete"
			err = w.DeleteProvisionedConcurrency(fn, q)
		case 4:
			op = "reserve"
			err = w.PutFunctionConcurrency(fn, rng.IntN(400))
		case 5:
			op = "unreserve"
			err = w.DeleteFunctionConcurrency(fn)
		case 6:
			op = "move"
			_, err = w.UpdateAlias(fn, pick([]string{"live", "blue"}), UpdateAliasInput{FunctionVersion: version()})
		case 7:
			op = "weights"
			rc := &AliasRoutingConfig{}
			if rng.IntN(2) == 0 {
				rc = weights(version(), 0.5)
			}
			_, err = w.UpdateAlias(fn, "blue", UpdateAliasInput{RoutingConfig: rc})
		case 8:
			op = "alias"
			if rng.IntN(2) == 0 {
				err = w.DeleteAlias(fn, "blue")
			} else {
				_, err = w.CreateAlias(fn, CreateAliasInput{Name: "blue", FunctionVersion: version()})
			}
		case 9:
			op = "wait"
			clk.Advance(time.Duration(rng.IntN(30)) * time.Second)
		}
		if err == nil {
			oks[op]++
		}
		w.mu.Lock()
		got, want := w.totalsLocked(), w.recountLocked()
		pool := w.sc.Account.ConcurrentExecutions - want.reserved - want.unreservedPC
		w.mu.Unlock()
		require.Equal(t, want, got, "after step %d (%s %s:%s)", i, op, fn, q)
		if err == nil && (op == "put" || op == "reserve") {
			require.GreaterOrEqual(t, pool, 100, "step %d (%s %s:%s) left the unreserved pool below its minimum", i, op, fn, q)
		}
		require.Equal(t, 1000-want.reserved, w.AccountSettings().AccountLimit.UnreservedConcurrentExecutions)
	}
	for _, op := range []string{"put", "delete", "reserve", "unreserve", "move", "weights", "alias"} {
		require.Positive(t, oks[op], "the sequence never succeeded at %s: %v", op, oks)
	}
}

// BenchmarkPutPC10k is a Put on an account of 10,000 functions with PC
// that meets every check and is refused by the last, the account pool: the
// checks read running totals, not every function (the clock stands still,
// so nothing is simulated).
func BenchmarkPutPC10k(b *testing.B) {
	sc, err := ParseScenario([]byte(scaleScenario(10000)))
	if err != nil {
		b.Fatal(err)
	}
	w, err := NewWorld(sc, NewVirtualClock(t0))
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := w.PutProvisionedConcurrency(fmt.Sprintf("fn%d", i%10000), "live", 2_000_000); err == nil {
			b.Fatal("a Put beyond the account was accepted")
		}
		i++
	}
}
