package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Discover selects functions by their tags, server-side (the Resource Groups
// Tagging API's GetResources with TagFilters and the lambda:function
// resource type), and manages one qualifier of each. A function's own tags
// under TagPrefix override the qualifier and any policy field (the tag
// grammar, see TargetFromTags).
type Discover struct {
	// Tags are the TagFilters: a function must carry every key, with one of
	// its values (no values: any value).
	Tags map[string]TagValues `yaml:"tags"`
	// Qualifier is managed on each function found; a function's
	// pcautoscaler/qualifier tag overrides it. "" makes the tag required.
	Qualifier string   `yaml:"qualifier"`
	Interval  Duration `yaml:"interval"` // how often to look again
	// RPS is the bucket of GetResources calls (one per 100 functions found):
	// the Tagging API has a quota of its own, not Lambda's 15.
	RPS float64 `yaml:"rps"`
	// Schedules are named windows a function joins by naming them in its
	// pcautoscaler/schedules tag (cron expressions cannot be tag values:
	// AWS allows no '*' or ',' there).
	Schedules []ScheduleSpec `yaml:"schedules"`
}

// TagValues is a tag filter's values: one value or a list; none means the
// key with any value.
type TagValues []string

// UnmarshalYAML reads a string or a list of strings.
func (tv *TagValues) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*tv = TagValues{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(TagValues, 0, len(n.Content))
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode || isNull(item) {
				return fmt.Errorf("want tag values as strings, got a %s", kindName(item))
			}
			out = append(out, item.Value)
		}
		*tv = out
		return nil
	}
	return fmt.Errorf("want a tag value or a list of them, got a %s", kindName(n))
}

// Discovery defaults and limits.
const (
	DefaultDiscoverInterval = 5 * time.Minute
	DefaultDiscoverRPS      = 1
	MinDiscoverInterval     = 30 * time.Second
	MaxDiscoverInterval     = 24 * time.Hour
	MaxDiscoverRPS          = 10
	// GetResources' TagFilters: at most 50 keys, 20 values a key; a tag key
	// is 1-128 characters, a value up to 256 (Lambda's tag quotas).
	maxTagFilters     = 50
	maxTagFilterValue = 20
	maxTagKeyLen      = 128
	maxTagValueLen    = 256
)

// TagPrefix starts every tag of the grammar: pcautoscaler/qualifier,
// pcautoscaler/schedules and pcautoscaler/<policy key>, e.g.
// pcautoscaler/max=200.
const TagPrefix = "pcautoscaler/"

// Keys of the tag grammar other than the policy's.
const (
	TagQualifier = TagPrefix + "qualifier"
	TagSchedules = TagPrefix + "schedules"
)

// DefaultDiscover is a discover block's values before the file's.
func DefaultDiscover() Discover {
	return Discover{Interval: Duration{DefaultDiscoverInterval}, RPS: DefaultDiscoverRPS}
}

func (v *validator) discover(path string, d *Discover) {
	at := func(key string) string { return path + "." + key }
	switch {
	case len(d.Tags) == 0:
		v.add(at("tags"), "at least one tag filter is required (e.g. pcautoscaler/managed: \"true\"); without one every function of the account would be managed")
	case len(d.Tags) > maxTagFilters:
		v.add(at("tags"), "%d tag filters, at most %d are allowed (GetResources)", len(d.Tags), maxTagFilters)
	}
	for _, k := range sortedKeys(d.Tags) {
		kp := at("tags") + "." + k
		switch {
		case utf8.RuneCountInString(k) > maxTagKeyLen:
			v.add(kp, "tag key is longer than %d characters", maxTagKeyLen)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			v.add(kp, `tag keys starting with "aws:" are reserved for AWS`)
		}
		vals := d.Tags[k]
		if len(vals) > maxTagFilterValue {
			v.add(kp, "%d values, at most %d are allowed (GetResources)", len(vals), maxTagFilterValue)
		}
		for i, val := range vals {
			if utf8.RuneCountInString(val) > maxTagValueLen {
				v.add(kp+"["+strconv.Itoa(i)+"]", "tag value is longer than %d characters", maxTagValueLen)
			}
		}
	}
	if d.Qualifier != "" {
		v.qualifier(at("qualifier"), d.Qualifier)
	}
	if iv := d.Interval.Duration; iv < MinDiscoverInterval || iv > MaxDiscoverInterval {
		v.add(at("interval"), "%s is out of range (%s <= value <= %s)", d.Interval, Duration{MinDiscoverInterval}, Duration{MaxDiscoverInterval})
	}
	if !(d.RPS > 0 && d.RPS <= MaxDiscoverRPS) {
		v.add(at("rps"), "%v is out of range (0 < value <= %d GetResources calls per second)", d.RPS, MaxDiscoverRPS)
	}
	names := map[string]int{}
	for j, s := range d.Schedules {
		sp := at("schedules") + "[" + strconv.Itoa(j) + "]"
		switch {
		case s.Name == "":
			v.add(sp+".name", "is required (functions name it in their %s tag)", TagSchedules)
		case !tagNameRE.MatchString(s.Name):
			v.add(sp+".name", "%q cannot be written in a tag (letters, digits and . : _ = + - @ /)", s.Name)
		default:
			if first, dup := names[s.Name]; dup {
				v.add(sp+".name", "%q is already used by schedules[%d]", s.Name, first)
			}
			names[s.Name] = j
		}
		v.schedule(sp, s, 0) // floor vs max: per function, when it is found
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TargetFromTags builds the target a discovered function's tags describe,
// with d's qualifier and schedules and c's defaults underneath, and checks
// it as Validate checks a target in the file. Problems name the tag key
// (Problem.Path), e.g. "pcautoscaler/max"; a function with any problem
// must not be managed from these tags.
//
// The grammar: tags outside TagPrefix are ignored, and so are the keys of
// discover.tags (the selecting tag may be pcautoscaler/managed). Under it:
//
//	pcautoscaler/qualifier=live           alias or version to manage (overrides discover.qualifier)
//	pcautoscaler/schedules=biz nightly    names of discover.schedules, separated by spaces
//	pcautoscaler/<key>=<value>            any policy key of `defaults`, in its YAML syntax:
//	                                      pcautoscaler/max=200, pcautoscaler/target_utilization=0.6,
//	                                      pcautoscaler/scale_in_cooldown=10m, pcautoscaler/missing_data=hold
//
// A percentage step is written 25pct, since AWS allows no '%' in a tag
// value (pcautoscaler/max_scale_in_step=25pct); "25%" is read too.
func (c *Config) TargetFromTags(d *Discover, function string, tags map[string]string) (Target, []Problem) {
	t := Target{Function: function, Qualifier: d.Qualifier, Policy: c.Defaults}
	var problems []Problem
	add := func(key, format string, args ...any) {
		problems = append(problems, Problem{Path: key, Message: fmt.Sprintf(format, args...)})
	}
	node := &yaml.Node{Kind: yaml.MappingNode}
	fields := fieldsOf(reflect.TypeFor[Policy]())
	for _, key := range sortedKeys(tags) {
		name, ok := strings.CutPrefix(key, TagPrefix)
		if _, filter := d.Tags[key]; !ok || filter {
			continue // not ours, or the selecting tag (pcautoscaler/managed=true)
		}
		val := strings.TrimSpace(tags[key])
		switch {
		case key == TagSchedules:
			for _, sn := range strings.Fields(val) {
				i := slices.IndexFunc(d.Schedules, func(s ScheduleSpec) bool { return s.Name == sn })
				if i < 0 {
					add(key, "no schedule %q in discover.schedules (%s)", sn, scheduleNames(d.Schedules))
					continue
				}
				if slices.ContainsFunc(t.Schedules, func(s ScheduleSpec) bool { return s.Name == sn }) {
					add(key, "schedule %q is named twice", sn)
					continue
				}
				t.Schedules = append(t.Schedules, d.Schedules[i])
			}
			continue
		case key == TagQualifier:
		case name == "function":
			add(key, "the function is the tagged resource; remove this tag")
			continue
		case !slices.ContainsFunc(fields, func(f field) bool { return f.name == name }):
			// The same hint as the file gives, over the grammar's keys.
			all := append([]field{{name: "qualifier"}, {name: "schedules"}}, fields...)
			add(key, "unknown tag key under %s (%s", TagPrefix, strings.TrimPrefix(unknownKey(name, all), "unknown key ("))
			continue
		}
		if num, ok := strings.CutSuffix(val, "pct"); ok && isStepKey(name) {
			val = num + "%"
		}
		node.Content = append(node.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: name},
			&yaml.Node{Kind: yaml.ScalarNode, Value: val})
	}
	// The file's own decoder reads the values: the same syntax, the same
	// messages.
	dec := newDecoder(&Config{Defaults: c.Defaults})
	dec.mapping("", node, reflect.ValueOf(&t).Elem())
	for _, p := range dec.problems {
		add(TagPrefix+p.Path, "%s", p.Message)
	}
	if len(problems) > 0 {
		return t, problems
	}
	v := &validator{}
	v.target("", t, &c.Defaults)
	for _, p := range v.problems {
		key := strings.TrimPrefix(p.Path, ".")
		switch {
		case key == "function":
			continue // the resource's name: Lambda's, not ours to judge
		case key == "qualifier" && tags[TagQualifier] == "" && d.Qualifier == "":
			add(TagQualifier, "no qualifier: tag the function %s=<alias or version> or set discover.qualifier", TagQualifier)
			continue
		case key == "qualifier" && tags[TagQualifier] == "":
			continue // discover.qualifier is the file's problem
		case strings.HasPrefix(key, "schedules["):
			// schedules[i].floor → the tag, naming the window.
			i, _ := strconv.Atoi(key[len("schedules["):strings.IndexByte(key, ']')])
			rest := strings.TrimPrefix(key[strings.IndexByte(key, ']')+1:], ".")
			if strings.HasPrefix(rest, "name") {
				continue // checked in discover.schedules
			}
			add(TagSchedules, "schedule %q: %s: %s", t.Schedules[i].Name, rest, p.Message)
			continue
		}
		add(TagPrefix+key, "%s", p.Message)
	}
	return t, problems
}

func isStepKey(name string) bool { return name == "max_scale_in_step" || name == "max_scale_out_step" }

func scheduleNames(ss []ScheduleSpec) string {
	if len(ss) == 0 {
		return "it has none"
	}
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.Name
	}
	return "have: " + strings.Join(names, ", ")
}
