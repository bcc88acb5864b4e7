package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/telemetry"
)

// keyAccount is the log key naming the account of a line (accounts:).
const keyAccount = "account"

// fleet is every account-Region the process manages: one daemon (Lambda
// and CloudWatch clients, budget, controller, discovery) each — the top
// level's when it manages anything, then accounts[] in file order — on
// one registry. A file without accounts: is a fleet of one whose series
// carry no account label, exactly as before.
type fleet struct {
	daemons  []*daemon
	names    []string // account label values; "" for a fleet of one
	registry *prometheus.Registry
}

// primary is the first daemon (leader election's metrics and observer).
func (f *fleet) primary() *daemon { return f.daemons[0] }

// loadAccountAWS is how the fleet gets an account's SDK config: the region
// and endpoint given (awsapi.LoadAWSConfig). Tests replace it.
type loadAccountAWS func(ctx context.Context, region, endpoint string) (aws.Config, error)

// wireFleet wires o.cfg's account-Regions. o.awsCfg is the top level's (the
// daemon's own credentials); an accounts[] entry loads its region and
// endpoint with load and, with role_arn, assumes that role through STS with
// the daemon's own credentials, on the daemon's own STS endpoint (never the
// entry's endpoint: an emulator of Lambda need not serve STS).
func wireFleet(o wireOptions, load loadAccountAWS) (*fleet, error) {
	cfg := o.cfg
	if len(cfg.Accounts) == 0 {
		d, err := wire(o)
		if err != nil {
			return nil, err
		}
		return &fleet{daemons: []*daemon{d}, names: []string{""}, registry: d.registry}, nil
	}
	if load == nil {
		load = func(ctx context.Context, region, endpoint string) (aws.Config, error) {
			return awsapi.LoadAWSConfig(ctx, region, endpoint)
		}
	}
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	f := &fleet{registry: prometheus.NewRegistry()}
	// The runtime's own series once, without an account label (each
	// account's telemetry then finds them registered).
	f.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	add := func(name string, ao wireOptions, obs *callObserver) error {
		ao.reg, ao.account = f.registry, name
		ao.logger = o.logger.With(keyAccount, name)
		if obs != nil { // AssumeRole calls count under the account's label
			ao.onMetrics = func(m *telemetry.Metrics) { obs.set(m) }
		}
		d, err := wire(ao)
		if err != nil {
			return fmt.Errorf("account %s: %w", name, err)
		}
		f.daemons, f.names = append(f.daemons, d), append(f.names, name)
		return nil
	}
	if cfg.HasDefaultAccount() {
		if err := add(config.DefaultAccount, o, nil); err != nil {
			return nil, err
		}
	}
	for _, a := range cfg.Accounts {
		ac := accountConfig(cfg, a)
		awsCfg, err := load(ctx, ac.Region, ac.AWS.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.Name, err)
		}
		var obs *callObserver
		if a.RoleARN != "" {
			stsCfg, err := load(ctx, ac.Region, "")
			if err != nil {
				return nil, fmt.Errorf("account %s: %w", a.Name, err)
			}
			// The daemon's own credentials assume the role.
			stsCfg.Credentials = o.awsCfg.Credentials
			obs = &callObserver{}
			awsCfg.Credentials = awsapi.AssumeRole(stsCfg, a.RoleARN, a.ExternalID, obs)
		}
		ao := o
		ao.cfg, ao.awsCfg = ac, awsCfg
		if err := add(a.Name, ao, obs); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// accountConfig is the config an accounts[] entry's daemon runs: the file's
// settings with the entry's targets, discovery, region, endpoint and budget.
func accountConfig(cfg *config.Config, a config.Account) *config.Config {
	c := *cfg
	c.Targets, c.Discover, c.Accounts = a.Targets, a.Discover, nil
	if a.Region != "" {
		c.Region = a.Region
	}
	if a.Endpoint != "" {
		c.AWS.Endpoint = a.Endpoint
	}
	if a.LambdaRPS > 0 {
		c.AWS.LambdaRPS = a.LambdaRPS
	}
	return &c
}

// label names a daemon in errors: "" for a fleet of one.
func (f *fleet) label(i int) string {
	if f.names[i] == "" {
		return ""
	}
	return "account " + f.names[i] + ": "
}

// preflight checks every account's permissions; every problem at once. An
// account whose every target is missing is an Error line while another
// account has something to manage (its loop idles until a reload), and an
// exit only when none has.
func (f *fleet) preflight(ctx context.Context) error {
	var errs, empty []error
	for i, d := range f.daemons {
		if err := d.preflight(ctx); err != nil {
			if l := f.label(i); l != "" {
				err = fmt.Errorf("%s%w", l, err)
			}
			if errors.Is(err, errNothingToManage) {
				empty = append(empty, err)
				continue
			}
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 && len(empty) == len(f.daemons) {
		return errors.Join(empty...)
	}
	for _, err := range empty {
		f.daemons[0].logger.Error("an account has nothing to manage; the others run", keyError, err)
	}
	return errors.Join(errs...)
}

// ready is /readyz: every account's loop ready.
func (f *fleet) ready() error {
	var errs []error
	for i, d := range f.daemons {
		if err := d.readiness.Ready(); err != nil {
			if l := f.label(i); l != "" {
				err = fmt.Errorf("%s%w", l, err)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// run runs every account's discovery and controller until ctx ends; it
// returns when all controllers have stopped (in-flight writes finished).
func (f *fleet) run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(f.daemons))
	for i, d := range f.daemons {
		if d.syncer != nil {
			go func() { _ = d.syncer.Run(ctx) }() // stops with ctx
		}
		go d.recheckDisabled(ctx) // start-up's disabled targets, until found or ctx ends
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.ctrl.Run(ctx); err != nil {
				errs[i] = fmt.Errorf("%s%w", f.label(i), err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// telemetryServer serves the fleet's registry and readiness.
func (f *fleet) telemetryServer(addr string, logger *slog.Logger) *http.Server {
	return telemetry.NewServer(addr, f.registry, f.ready, logger)
}

// callObserver forwards to an observer set later: an account's credentials
// exist before its telemetry does (wire sets it before any AWS call).
type callObserver struct {
	mu  sync.Mutex
	obs awsapi.CallObserver
}

func (c *callObserver) set(o awsapi.CallObserver) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.obs = o
}

func (c *callObserver) ObserveCall(service, operation, code string, took time.Duration) {
	c.mu.Lock()
	o := c.obs
	c.mu.Unlock()
	if o != nil {
		o.ObserveCall(service, operation, code, took)
	}
}

// managed lists every target the fleet manages (account/function:qualifier
// with accounts:, function:qualifier without).
func (f *fleet) managed() []string {
	var ids []string
	for i, d := range f.daemons {
		for _, t := range d.ctrl.Targets() {
			id := t.ID.String()
			if f.names[i] != "" {
				id = f.names[i] + "/" + id
			}
			ids = append(ids, id)
		}
	}
	return ids
}

// reconfigure applies a reloaded config's targets, defaults and discovery
// to every account-Region's loop between ticks (controller.SetTargets keeps
// the memory of targets that remain) and returns every target now managed,
// by account. Accounts added or removed, and discovery added where there
// was none, take a restart: they are returned in restart, the rest applies.
func (f *fleet) reconfigure(cfg *config.Config) (ids []string, restart []string, err error) {
	byName := map[string]config.Account{}
	for _, a := range cfg.Accounts {
		byName[a.Name] = a
	}
	var errs []error
	for i, d := range f.daemons {
		ac := cfg
		switch name := f.names[i]; {
		case name == "":
			if len(cfg.Accounts) > 0 {
				restart = append(restart, "accounts")
			}
		case name == config.DefaultAccount:
			if !cfg.HasDefaultAccount() {
				restart = append(restart, "targets") // the default account left
				continue
			}
		default:
			a, ok := byName[name]
			if !ok {
				restart = append(restart, "accounts["+name+"]")
				continue
			}
			delete(byName, name)
			ac = accountConfig(cfg, a)
		}
		var ts []controller.Target
		switch {
		case d.syncer != nil:
			res, err := d.syncer.Reconfigure(ac, ac.Discover, ac.Targets)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%w", f.label(i), err))
				continue
			}
			ts = res.Targets
		default:
			if ac.Discover != nil {
				restart = append(restart, strings.TrimSuffix(f.label(i), ": ")+" discover")
			}
			compiled, _, err := controllerTargets(ac)
			if err == nil {
				err = d.managed.set(compiled) // minus aliases AAS scales (aas.go)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%w", f.label(i), err))
				continue
			}
			d.metrics.SetTargets(idsOf(compiled))
			for id, mb := range memoryOf(ac.Targets) {
				d.metrics.SetMemory(id, mb)
			}
			ts = compiled
		}
		for _, t := range ts {
			id := t.ID.String()
			if f.names[i] != "" {
				id = f.names[i] + "/" + id
			}
			ids = append(ids, id)
		}
	}
	for name := range byName {
		restart = append(restart, "accounts["+name+"]")
	}
	return ids, restart, errors.Join(errs...)
}
