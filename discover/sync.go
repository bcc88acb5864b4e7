package discover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/schedule"
)

// Lister lists the functions a discover block selects (*Source).
type Lister interface {
	Functions(ctx context.Context) ([]Function, error)
}

// Recorder sees each discovery at a time of the Syncer's clock
// (telemetry): functions found, targets managed from their tags, functions
// whose tags have problems, and the error of a discovery that failed (the
// counts are then meaningless).
type Recorder interface {
	Discovered(at time.Time, found, managed, problems int, err error)
}

// Compile turns a config target into the controller's, its schedule
// compiled once and adapted to Bounds.
func Compile(t config.Target) (controller.Target, error) {
	s, err := schedule.Compile(t.Schedules)
	if err != nil {
		return controller.Target{}, fmt.Errorf("%s:%s schedules: %w", t.Function, t.Qualifier, err)
	}
	id := controller.TargetID{Function: t.Function, Qualifier: t.Qualifier}
	return controller.Target{ID: id, Policy: t.Policy, Bounds: func(now time.Time) controller.Bounds {
		st := s.Active(now)
		return controller.Bounds{Floor: st.Floor, HasFloor: st.HasFloor, Ceiling: st.Ceiling, HasCeiling: st.HasCeiling}
	}}, nil
}

// Syncer keeps a controller's targets equal to the explicit ones plus the
// discovered ones. An explicit target wins over a discovered one of the
// same function and qualifier. A discovery that fails changes nothing; a
// function whose tags have problems is reported (with its ARN and each tag
// key) and, if it was managed, keeps its last good settings.
type Syncer struct {
	cfg      *config.Config
	d        *config.Discover
	lister   Lister
	apply    func([]controller.Target, []config.Target) error
	log      *slog.Logger
	rec      Recorder
	clock    controller.Clock
	explicit []config.Target
	taken    map[string]bool // name:qualifier of explicit targets

	mu       sync.Mutex
	lastFns  []Function               // the last listing, for Reconfigure
	listed   bool                     // lastFns is a listing
	good     map[string]config.Target // last good target per function ARN
	reported map[string]string        // ARN → problems last logged
	applied  bool
	targets  []controller.Target
	configs  []config.Target
}

// SyncerOptions configure NewSyncer. Config, Discover, Lister and Apply are
// required.
type SyncerOptions struct {
	Config   *config.Config   // defaults for discovered targets
	Discover *config.Discover // the block (cfg.Discover, or an account's)
	Explicit []config.Target  // the file's targets for the same account
	Lister   Lister
	// Apply receives the whole target set after every change, as the
	// controller wants it and as config targets (telemetry, pricing);
	// (*controller.Controller).SetTargets, typically.
	Apply    func([]controller.Target, []config.Target) error
	Logger   *slog.Logger
	Recorder Recorder
	Clock    controller.Clock
}

// NewSyncer checks o and compiles the explicit targets.
func NewSyncer(o SyncerOptions) (*Syncer, error) {
	if o.Config == nil || o.Discover == nil || o.Lister == nil || o.Apply == nil {
		return nil, errors.New("discover: Config, Discover, Lister and Apply are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = awsapi.WallClock{}
	}
	s := &Syncer{cfg: o.Config, d: o.Discover, lister: o.Lister, apply: o.Apply, log: o.Logger, rec: o.Recorder,
		clock: o.Clock, explicit: slices.Clone(o.Explicit), taken: map[string]bool{},
		good: map[string]config.Target{}, reported: map[string]string{}}
	for _, t := range o.Explicit {
		s.taken[key(awsapi.FunctionName(t.Function), t.Qualifier)] = true
	}
	return s, nil
}

func key(function, qualifier string) string { return function + ":" + qualifier }

// Log keys (snake_case, fixed).
const (
	keyFunctionARN = "function_arn"
	keyProblems    = "problems"
	keyFound       = "found"
	keyManaged     = "managed"
	keyAdded       = "added"
	keyDropped     = "dropped"
	keyError       = "error"
	keyTarget      = "target"
	keyNext        = "next"
	keyAt          = "at" // the loop's clock (a simulator's with --sim-clock)
)

// Problem is one bad tag of a discovered function.
type Problem struct {
	ARN    string
	Tag    string // the tag key, e.g. pcautoscaler/max
	Reason string
}

func (p Problem) String() string { return p.ARN + ": tag " + p.Tag + ": " + p.Reason }

// Result is what one Sync found.
type Result struct {
	Found    int
	Managed  int                 // targets managed from tags (explicit ones excluded)
	Targets  []controller.Target // explicit and discovered, in that order
	Added    []controller.TargetID
	Dropped  []controller.TargetID
	Problems []Problem // every bad tag of every function found
}

// Sync discovers once and applies the result when the target set changed.
// On error nothing changes.
func (s *Syncer) Sync(ctx context.Context) (Result, error) {
	s.mu.Lock()
	d := s.d
	s.mu.Unlock()
	if d == nil { // discovery removed by a reload: the file's targets only
		return s.applyFunctions(nil)
	}
	fns, err := s.lister.Functions(ctx)
	if err != nil {
		s.mu.Lock()
		managed := len(s.good)
		s.mu.Unlock()
		if s.rec != nil {
			s.rec.Discovered(s.clock.Now(), -1, managed, -1, err)
		}
		return Result{}, err
	}
	s.mu.Lock()
	s.lastFns, s.listed = fns, true
	s.mu.Unlock()
	return s.applyFunctions(fns)
}

// applyFunctions resolves fns into the target set and applies it when it
// changed.
func (s *Syncer) applyFunctions(fns []Function) (Result, error) {
	res, cfgs, good, err := s.resolve(fns)
	if err != nil {
		return Result{}, err
	}
	s.mu.Lock()
	changed := !s.applied || !sameTargets(s.configs, cfgs)
	s.mu.Unlock()
	if changed {
		if err := s.apply(res.Targets, cfgs); err != nil {
			return Result{}, fmt.Errorf("apply discovered targets: %w", err)
		}
	}
	s.mu.Lock()
	s.applied, s.targets, s.configs, s.good = true, res.Targets, cfgs, good
	s.mu.Unlock()
	if len(res.Added)+len(res.Dropped) > 0 {
		s.log.Info("discovered targets changed", keyFound, res.Found, keyManaged, res.Managed,
			keyAdded, ids(res.Added), keyDropped, ids(res.Dropped), keyAt, s.clock.Now().UTC().Format(time.RFC3339))
	}
	if s.rec != nil {
		s.rec.Discovered(s.clock.Now(), res.Found, res.Managed, problemFunctions(res.Problems), nil)
	}
	return res, nil
}

// Targets returns the last applied target set.
func (s *Syncer) Targets() []controller.Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.targets)
}

// Reconfigure replaces the settings a reload changes — the defaults
// (cfg), the discover block (nil: no discovery any more; its rps applies
// at the next start) and the explicit targets — and applies the result at
// once from the last listing, without a call; the next discovery lists
// with the new tag filters.
func (s *Syncer) Reconfigure(cfg *config.Config, d *config.Discover, explicit []config.Target) (Result, error) {
	s.mu.Lock()
	s.cfg, s.d, s.explicit = cfg, d, slices.Clone(explicit)
	s.taken = map[string]bool{}
	for _, t := range explicit {
		s.taken[key(awsapi.FunctionName(t.Function), t.Qualifier)] = true
	}
	fns := s.lastFns
	if d == nil {
		fns = nil
	}
	s.mu.Unlock()
	if f, ok := s.lister.(interface {
		SetTags(map[string]config.TagValues)
	}); ok && d != nil {
		f.SetTags(d.Tags)
	}
	return s.applyFunctions(fns)
}

// Configs returns the last applied target set as config targets.
func (s *Syncer) Configs() []config.Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.configs)
}

// Interval is the discover block's cadence (the default's without one).
func (s *Syncer) Interval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d == nil {
		return config.DefaultDiscoverInterval
	}
	return s.d.Interval.Duration
}

// Run syncs every interval until ctx ends (the first Sync is the caller's,
// at start-up). A failed discovery is logged and retried at the next one.
func (s *Syncer) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.clock.After(s.Interval()):
		}
		if _, err := s.Sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("discovery failed; the targets stay as they are", keyError, err.Error(),
				keyNext, s.Interval().String())
		}
	}
}

// resolve turns the functions found into the whole target set.
func (s *Syncer) resolve(fns []Function) (Result, []config.Target, map[string]config.Target, error) {
	res := Result{Found: len(fns)}
	s.mu.Lock()
	defer s.mu.Unlock()
	cfgs := slices.Clone(s.explicit)
	good := map[string]config.Target{}
	seen := map[string]bool{}
	for _, fn := range fns {
		t, problems := s.cfg.TargetFromTags(s.d, fn.Name, fn.Tags)
		if len(problems) > 0 {
			var ps []string
			for _, p := range problems {
				res.Problems = append(res.Problems, Problem{ARN: fn.ARN, Tag: p.Path, Reason: p.Message})
				ps = append(ps, "tag "+p.Path+": "+p.Message)
			}
			last, had := s.good[fn.ARN]
			joined := strings.Join(ps, "; ")
			if s.reported[fn.ARN] != joined {
				s.reported[fn.ARN] = joined
				msg := "discovered function has bad tags; it is not managed from them"
				if had {
					msg = "discovered function has bad tags; it keeps its last good settings"
				}
				s.log.Warn(msg, keyFunctionARN, fn.ARN, keyProblems, ps)
			}
			if !had {
				continue
			}
			t = last
		} else {
			delete(s.reported, fn.ARN)
		}
		k := key(t.Function, t.Qualifier)
		if s.taken[k] {
			s.log.Debug("an explicit target wins over the discovered one", keyTarget, k, keyFunctionARN, fn.ARN)
			continue
		}
		if seen[k] {
			continue // two ARNs of one name: another partition's; the first wins
		}
		seen[k] = true
		good[fn.ARN] = t
		cfgs = append(cfgs, t)
	}
	for arn := range s.reported {
		if _, ok := good[arn]; !ok && !slices.ContainsFunc(fns, func(f Function) bool { return f.ARN == arn }) {
			delete(s.reported, arn) // gone: report again if it comes back
		}
	}
	var targets []controller.Target
	for _, c := range cfgs {
		t, err := Compile(c)
		if err != nil {
			return Result{}, nil, nil, err // validated: only a bug gets here
		}
		targets = append(targets, t)
	}
	before := map[controller.TargetID]bool{}
	for _, t := range s.targets {
		before[t.ID] = true
	}
	after := map[controller.TargetID]bool{}
	for _, t := range targets {
		after[t.ID] = true
		if !before[t.ID] && s.applied {
			res.Added = append(res.Added, t.ID)
		}
	}
	for _, t := range s.targets {
		if !after[t.ID] {
			res.Dropped = append(res.Dropped, t.ID)
		}
	}
	res.Targets = targets
	res.Managed = len(cfgs) - len(s.explicit)
	return res, cfgs, good, nil
}

func sameTargets(a, b []config.Target) bool {
	return slices.EqualFunc(a, b, func(x, y config.Target) bool {
		return x.Function == y.Function && x.Qualifier == y.Qualifier && x.Policy == y.Policy &&
			slices.EqualFunc(x.Schedules, y.Schedules, sameSchedule)
	})
}

func sameSchedule(a, b config.ScheduleSpec) bool {
	eq := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Name == b.Name && a.Cron == b.Cron && a.Timezone == b.Timezone && a.Duration == b.Duration &&
		a.Lead == b.Lead && eq(a.Floor, b.Floor) && eq(a.Ceiling, b.Ceiling)
}

func ids(ts []controller.TargetID) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

func problemFunctions(ps []Problem) int {
	arns := map[string]bool{}
	for _, p := range ps {
		arns[p.ARN] = true
	}
	return len(arns)
}
