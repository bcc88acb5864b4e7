package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Default values, as documented in config.example.yaml.
const (
	DefaultInterval           = 60 * time.Second
	DefaultListen             = ":9102"
	DefaultLambdaRPS          = 10
	DefaultWorkers            = 8
	DefaultPCPricePerGBSecond = 0.0000041667 // us-east-1, x86
	DefaultTimezone           = "UTC"
	// DefaultMetricsMaxLag: CloudWatch publication is commonly 1–3 minutes
	// late and "can be several minutes" (AWS-FACTS §4.1).
	DefaultMetricsMaxLag = 5 * time.Minute
	// DefaultMetricsProbe: how often a late minute is looked for (one
	// GetMetricData query per probe).
	DefaultMetricsProbe = 10 * time.Second
	// DefaultStartupTimeout: how long start-up retries throttling and
	// transient errors before exiting (an orchestrator restarts it then).
	DefaultStartupTimeout = 2 * time.Minute
	// DefaultWeightedAlarmAfter: a canary or linear deploy shifts traffic
	// in minutes; weights left longer are most likely a failed deploy.
	DefaultWeightedAlarmAfter = 30 * time.Minute
)

// Default returns the configuration a file with only targets would produce.
func Default() Config {
	return Config{
		Interval: Duration{DefaultInterval},
		Listen:   DefaultListen,
		Mode:     ModeNormal,
		Log:      Log{Level: "info", Format: "json"},
		AWS: AWS{
			LambdaRPS:          DefaultLambdaRPS,
			CloudWatchProtocol: "cbor",
			CloudWatchMetrics:  MetricsDerived,
			Workers:            DefaultWorkers,
			MetricsMaxLag:      Duration{DefaultMetricsMaxLag},
			MetricsProbe:       Duration{DefaultMetricsProbe},
			StartupTimeout:     Duration{DefaultStartupTimeout},
		},
		HA:       DefaultHA(),
		Pricing:  Pricing{PCPricePerGBSecond: DefaultPCPricePerGBSecond},
		Defaults: DefaultPolicy(),
	}
}

// DefaultPolicy returns the built-in per-target settings that `defaults`
// starts from.
func DefaultPolicy() Policy {
	return Policy{
		Statistic:          StatMaximum,
		TargetUtilization:  0.70,
		ScaleInRatio:       0.90,
		ScaleOutDatapoints: 2,
		ScaleInDatapoints:  5,
		ScaleOutCooldown:   Duration{0},
		ScaleInCooldown:    Duration{5 * time.Minute},
		MaxScaleInStep:     Step{Percent: 50},
		MaxScaleOutStep:    Step{}, // unlimited
		MissingData:        MissingIdle,
		IdleAfter:          Duration{30 * time.Minute},
		Min:                1,
		Max:                100,
		AllowZero:          false,
		Predict:            PredictPeriodic,
		PredictLead:        Duration{3 * time.Minute},
		PredictLookback:    Duration{3 * time.Hour},
		OnForeignChange:    ForeignOverride,
		YieldFor:           Duration{30 * time.Minute},
		WeightedAlarmAfter: Duration{DefaultWeightedAlarmAfter},
	}
}

// Load reads and parses a config file. Problems in the file come back as a
// *ValidationError whose File is path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data)
	if verr, ok := errors.AsType[*ValidationError](err); ok {
		verr.File = path
	}
	return cfg, err
}

// Parse decodes a config strictly (unknown keys are errors), applies defaults
// (each target starts as a copy of the resolved `defaults` and its own keys
// override), and validates the result. Every problem found by decoding and by
// Validate comes back at once in a *ValidationError.
func Parse(data []byte) (*Config, error) {
	root, problem := parseDocument(data)
	if problem != nil {
		return nil, &ValidationError{Problems: []Problem{*problem}}
	}
	cfg := Default()
	d := newDecoder(&cfg)
	if root != nil {
		d.maxNodes = nodeBudget(countWritten(root))
		d.decodeRoot(root)
	}
	problems := d.problems
	if d.tooBig || slices.ContainsFunc(problems, func(p Problem) bool { return p.Path == "" }) {
		// Nothing (or only part) decoded — not a mapping, an alias bomb:
		// validating would only add noise, such as "function is required"
		// for every target the budget cut off.
		return nil, &ValidationError{Problems: problems}
	}
	if err := cfg.Validate(); err != nil {
		verr, ok := errors.AsType[*ValidationError](err)
		if !ok {
			return nil, err
		}
		for _, p := range verr.Problems {
			if coveredBy(p.Path, d.problems) {
				continue // the value never decoded; its decode problem says why
			}
			if p.Line == 0 {
				p.Line = d.lineOf(p.Path)
			}
			problems = append(problems, p)
		}
	}
	// One list in file order; problems without a line (a missing top-level
	// key) go last.
	slices.SortStableFunc(problems, func(a, b Problem) int { return cmp.Compare(sortLine(a), sortLine(b)) })
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return &cfg, nil
}

// parseDocument parses YAML into a node tree: nil for an empty document, a
// problem for broken syntax or more than one document.
func parseDocument(data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		p := syntaxProblem(err)
		return nil, &p
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			p := syntaxProblem(err)
			return nil, &p
		}
		return nil, &Problem{Message: "only one YAML document is allowed, found a second one", Line: next.Line}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlParserProblems are yaml.v3's parser (not scanner) errors. For these
// it reports the 0-based line of the construct being parsed (it adds 1 for
// scanner errors only): "line 1" for a flow mapping left open on line 2.
// syntaxProblem adds the 1.
var yamlParserProblems = map[string]bool{
	"did not find expected ',' or ']'": true, "did not find expected ',' or '}'": true,
	"did not find expected '-' indicator": true, "did not find expected <document start>": true,
	"did not find expected <stream-start>": true, "did not find expected key": true,
	"did not find expected node content": true, "found duplicate %TAG directive": true,
	"found duplicate %YAML directive": true, "found incompatible YAML document": true,
	"found undefined tag handle": true,
	// A scanner error, but reported at the start of the plain scalar it
	// follows: the tab is on a later line, almost always the next one.
	"found a tab character that violates indentation": true,
}

func syntaxProblem(err error) Problem {
	msg := err.Error()
	p := Problem{}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if yamlParserProblems[msg] {
		p.Line++
	}
	p.Message = "invalid YAML: " + msg
	return p
}

// coveredBy reports whether path is, or is inside, a path that already has a
// problem.
func coveredBy(path string, problems []Problem) bool {
	for _, p := range problems {
		if p.Path == "" {
			continue
		}
		if path == p.Path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[") {
			return true
		}
	}
	return false
}

func sortLine(p Problem) int {
	if p.Line == 0 {
		return math.MaxInt
	}
	return p.Line
}
