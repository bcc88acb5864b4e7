package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// reloadPoll is how often the config file is looked at for a change (its
// content, so a ConfigMap's symlink swap counts). Real time.
const reloadPoll = 5 * time.Second

// Log keys of the reload.
const (
	keyTrigger = "trigger"
	keyProblem = "problem"
	keyAdded   = "added"
	keyRemoved = "removed"
	keyRestart = "restart_to_apply"
)

// reloader applies a changed config file while the daemon runs: the new
// file is validated; on any problem the old config stays and every
// problem is logged with its YAML path; on success the targets are
// replaced between ticks (controller.SetTargets: targets that remain keep
// their memory; a tick in progress finishes first, so no write is cut).
type reloader struct {
	path  string // "" with --config-env: nothing to re-read
	fleet *fleet // every account-Region's loop (and discovery)
	log   *slog.Logger

	current *config.Config
	managed []string // every target managed after the last load (account/function:qualifier)
	sum     [32]byte // of the file as last read
	flags   runFlags // the command line's overrides, applied to every new file too

	success   prometheus.Gauge
	successAt prometheus.Gauge
}

func newReloader(f runFlags, cfg *config.Config, fl *fleet, reg prometheus.Registerer, logger *slog.Logger) *reloader {
	path := f.config
	r := &reloader{path: path, fleet: fl, log: logger, current: cfg, flags: f,
		success: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "pcautoscaler", Name: "config_last_reload_success",
			Help: "1 when the last config load (start-up or reload) succeeded, 0 when it failed and the old config stayed."}),
		successAt: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "pcautoscaler", Name: "config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful config load (start-up or reload)."}),
	}
	for _, c := range []prometheus.Collector{r.success, r.successAt} {
		if err := reg.Register(c); err != nil {
			logger.Warn("config reload metrics not registered", keyError, err)
		}
	}
	r.success.Set(1)
	r.successAt.Set(float64(time.Now().Unix()))
	if fl != nil {
		r.managed = fl.managed()
	}
	if path != "" {
		if data, err := os.ReadFile(path); err == nil {
			r.sum = sha256.Sum256(data)
		}
	}
	return r
}

// run reloads on SIGHUP (hup) and when the file's content changes, until
// ctx ends.
func (r *reloader) run(ctx context.Context, hup <-chan os.Signal) {
	tick := time.NewTicker(reloadPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if r.path == "" {
				r.log.Info("SIGHUP: the config came from the environment, which cannot change; nothing to reload")
				continue
			}
			r.reload("SIGHUP")
		case <-tick.C:
			if r.path == "" {
				continue
			}
			data, err := os.ReadFile(r.path)
			if err != nil || sha256.Sum256(data) == r.sum {
				continue // unreadable for a moment (being replaced), or unchanged
			}
			r.reload("file changed")
		}
	}
}

// reload reads, validates and applies the file; it reports whether the new
// config is in force.
func (r *reloader) reload(trigger string) bool {
	data, err := os.ReadFile(r.path)
	if err != nil {
		return r.failed(trigger, err)
	}
	r.sum = sha256.Sum256(data) // a broken file is reported once, not every poll
	cfg, err := config.Parse(data)
	if err != nil {
		return r.failed(trigger, err)
	}
	applyRunFlags(cfg, r.flags)
	// Every account-Region's targets; discovered ones are kept (resolved
	// again from the last discovery with the new defaults and filters).
	// Under every loop's disabledMu: a disabled target found again by a
	// re-check (startup.go) is applied before or not at all.
	for _, d := range r.fleet.daemons {
		d.disabledMu.Lock()
	}
	ids, restartKeys, err := r.fleet.reconfigure(cfg)
	if err == nil {
		for _, d := range r.fleet.daemons {
			d.resetDisabledLocked() // start-up's disabled targets are back in the reloaded set
		}
	}
	for _, d := range r.fleet.daemons {
		d.disabledMu.Unlock()
	}
	if err != nil {
		return r.failed(trigger, err)
	}
	old := map[string]bool{}
	for _, id := range r.managed {
		old[id] = true
	}
	var added, removed []string
	for _, id := range ids {
		if !old[id] {
			added = append(added, id)
		}
		delete(old, id)
	}
	for id := range old {
		removed = append(removed, id)
	}
	slices.Sort(removed)
	r.managed = ids
	r.log.Info("config reloaded: targets and their settings apply from the next tick", keyTrigger, trigger,
		keyConfig, r.path, keyTargets, len(ids), keyAdded, nonNil(added), keyRemoved, nonNil(removed))
	if keys := append(restartOnly(r.current, cfg), restartKeys...); len(keys) > 0 {
		r.log.Warn("config reloaded, but these settings apply only at the next restart", keyRestart, keys)
	}
	r.current = cfg
	r.success.Set(1)
	r.successAt.Set(float64(time.Now().Unix()))
	return true
}

// failed keeps the old config and logs every problem with its YAML path.
func (r *reloader) failed(trigger string, err error) bool {
	r.success.Set(0)
	var verr *config.ValidationError
	if errors.As(err, &verr) {
		for _, p := range verr.Problems {
			r.log.Error("config reload failed: the old config stays", keyTrigger, trigger, keyConfig, r.path, keyProblem, p.String())
		}
		return false
	}
	r.log.Error("config reload failed: the old config stays", keyTrigger, trigger, keyConfig, r.path, keyError, err.Error())
	return false
}

// restartOnly names the top-level settings that changed but are read only
// at start-up (everything but targets and defaults, which the targets
// carry resolved).
func restartOnly(old, cur *config.Config) []string {
	var keys []string
	for _, c := range []struct {
		key      string
		old, cur any
	}{
		{"region", old.Region, cur.Region}, {"interval", old.Interval, cur.Interval}, {"listen", old.Listen, cur.Listen},
		{"dry_run", old.DryRun, cur.DryRun}, {"log", old.Log, cur.Log}, {"aws", old.AWS, cur.AWS}, {"ha", old.HA, cur.HA},
		{"pricing", old.Pricing, cur.Pricing},
	} {
		if !reflect.DeepEqual(c.old, c.cur) {
			keys = append(keys, c.key)
		}
	}
	return keys
}

// applyRunFlags overrides a config with the flags of `run`, as run does at
// start-up.
func applyRunFlags(cfg *config.Config, f runFlags) {
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.dryRun {
		cfg.DryRun = true
	}
	if f.shadow {
		cfg.Mode = config.ModeShadow
	}
	if f.logLevel != "" {
		cfg.Log.Level = f.logLevel
	}
	if f.logFormat != "" {
		cfg.Log.Format = f.logFormat
	}
	cfg.Log.Level, cfg.Log.Format = strings.ToLower(cfg.Log.Level), strings.ToLower(cfg.Log.Format)
}

// nonNil logs an empty list as [], not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
