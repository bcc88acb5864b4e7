package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// The nodes one file may expand to are bounded by what it writes: aliases
// can make a small file expand exponentially ("billion laughs"), so the
// decoder visits at most baseNodes plus nodesPerWritten for every node
// written in the file (aliases and merge keys counted once, where written).
// A file without aliases visits each node once, so any size loads (20,000
// targets are ~300,000 nodes); with aliases the work stays linear in the
// file's size.
const (
	baseNodes       = 200_000
	nodesPerWritten = 10
)

// nodeBudget is the visit budget of a document whose tree has written nodes.
func nodeBudget(written int) int { return baseNodes + nodesPerWritten*written }

// countWritten counts the nodes of a tree as written, not following aliases.
func countWritten(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	c := 1
	for _, k := range n.Content {
		c += countWritten(k)
	}
	return c
}

// decoder walks the YAML node tree against the Config types itself rather
// than using yaml.v3's Decoder, because:
//   - every problem must name its YAML path (yaml.v3 errors give only a line),
//   - all problems are wanted at once, not the first,
//   - a target must start as a copy of the resolved defaults and only keys
//     present in the file may override them (Node.Decode would lose
//     KnownFields strictness).
//
// Scalars are still decoded by yaml.v3 (Node.Decode), so YAML's own number,
// boolean and string rules apply unchanged.
type decoder struct {
	cfg      *Config
	problems []Problem
	lines    map[string]int // YAML path → line of its key, to place Validate's problems
	visited  int
	maxNodes int                 // visit budget (nodeBudget of the document)
	active   map[*yaml.Node]bool // aliases being expanded, to catch self-reference
	tooBig   bool
}

func newDecoder(cfg *Config) *decoder {
	return &decoder{cfg: cfg, lines: map[string]int{}, active: map[*yaml.Node]bool{}, maxNodes: baseNodes}
}

func (d *decoder) problem(path string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...), Line: line})
}

func (d *decoder) decodeRoot(n *yaml.Node) {
	n = d.resolve("", n)
	if n == nil {
		return
	}
	if isNull(n) {
		return // an empty file: defaults only
	}
	if n.Kind != yaml.MappingNode {
		d.problem("", n.Line, "the file must be a YAML mapping of settings, got a %s", kindName(n))
		return
	}
	d.value("", n, reflect.ValueOf(d.cfg).Elem())
}

// resolve follows aliases and enforces the node budget. It returns nil when
// the node must not be decoded (a problem has been recorded).
func (d *decoder) resolve(path string, n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil || d.active[n] {
			d.problem(path, n.Line, "alias *%s refers to itself", n.Value)
			return nil
		}
		n = n.Alias
	}
	d.visited++
	if d.visited > d.maxNodes {
		if !d.tooBig {
			d.tooBig = true
			d.problem(path, n.Line, "the file expands to more than %d YAML nodes through aliases (%d + %d per node written); nothing else is checked until that is fixed", d.maxNodes, baseNodes, nodesPerWritten)
		}
		return nil
	}
	return n
}

// lineOf returns the line of path, or of its nearest ancestor in the file:
// a missing key is reported at the mapping that lacks it.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if line, ok := d.lines[path]; ok {
			return line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// value decodes n into v. A null value (`key:` or `key: null`) keeps what v
// holds, so an empty key means "the default".
func (d *decoder) value(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		alias := n
		if n = d.resolve(path, n); n == nil {
			return
		}
		d.active[alias] = true
		defer delete(d.active, alias)
	} else if n = d.resolve(path, n); n == nil {
		return
	}
	if isNull(n) {
		return
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.problem(path, n.Line, "%s", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.problem(path, n.Line, "want a mapping of settings, got a %s", kindName(n))
			return
		}
		d.mapping(path, n, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.problem(path, n.Line, "want a list, got a %s", kindName(n))
			return
		}
		if len(n.Content) == 0 {
			v.SetZero() // `[]` and a missing key read the same
			return
		}
		out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		for i, item := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			d.lines[p] = item.Line
			elem := d.newElem(v.Type().Elem())
			d.value(p, item, elem)
			out = reflect.Append(out, elem)
		}
		v.Set(out)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.problem(path, n.Line, "want a mapping, got a %s", kindName(n))
			return
		}
		out := reflect.MakeMap(v.Type())
		for _, e := range d.entries(path, n, map[*yaml.Node]bool{}) {
			p := path + "." + e.key.Value
			d.lines[p] = e.key.Line
			elem := reflect.New(v.Type().Elem()).Elem()
			d.value(p, e.value, elem)
			out.SetMapIndex(reflect.ValueOf(e.key.Value), elem)
		}
		v.Set(out)
	case reflect.Pointer:
		// Set even when decoding fails: the key is present, so Validate must
		// not add "needs a floor and/or a ceiling" to the decode problem.
		elem := d.newElem(v.Type().Elem())
		if elem.Kind() == reflect.Struct {
			d.value(path, n, elem) // an optional block, e.g. discover
			v.Set(elem.Addr())
			return
		}
		d.scalar(path, n, elem)
		v.Set(elem.Addr())
	default:
		d.scalar(path, n, v)
	}
}

// newElem returns the starting value of a list element: a target starts as
// the resolved defaults, a schedule in UTC.
func (d *decoder) newElem(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	switch t {
	case reflect.TypeFor[Target]():
		if d.cfg != nil {
			v.Set(reflect.ValueOf(Target{Policy: d.cfg.Defaults}))
		}
	case reflect.TypeFor[ScheduleSpec]():
		v.Set(reflect.ValueOf(ScheduleSpec{Timezone: DefaultTimezone}))
	case reflect.TypeFor[Discover]():
		v.Set(reflect.ValueOf(DefaultDiscover()))
	}
	return v
}

func (d *decoder) scalar(path string, n *yaml.Node, v reflect.Value) bool {
	want := map[reflect.Kind]string{
		reflect.String: "a string", reflect.Bool: "true or false",
		reflect.Int: "a whole number", reflect.Int64: "a whole number", reflect.Float64: "a number",
	}[v.Kind()]
	if n.Kind != yaml.ScalarNode {
		d.problem(path, n.Line, "want %s, got a %s", want, kindName(n))
		return false
	}
	// yaml.v3 truncates 1.5 into an int; a count must be written whole.
	wholeOK := v.Kind() != reflect.Int && v.Kind() != reflect.Int64 || n.ShortTag() == "!!int"
	tmp := reflect.New(v.Type())
	if err := n.Decode(tmp.Interface()); err != nil || !wholeOK {
		d.problem(path, n.Line, "want %s, got %q", want, n.Value)
		return false
	}
	v.Set(tmp.Elem())
	return true
}

// field is one YAML key of a struct, with inline structs flattened.
type field struct {
	name  string
	index []int
}

// fieldCache holds fieldsOf per struct type: a file with 20,000 targets
// decodes 20,000 mappings of the same few types.
var fieldCache sync.Map // reflect.Type → []field

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	out := computeFields(t)
	fieldCache.Store(t, out)
	return out
}

func computeFields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if opts == "inline" {
			for _, sub := range computeFields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if name == "" {
			continue // untagged fields are not part of the file
		}
		out = append(out, field{name: name, index: []int{i}})
	}
	return out
}

type entry struct {
	key   *yaml.Node
	value *yaml.Node
}

// mapping decodes a YAML mapping into struct v. Merge keys (`<<: *anchor`)
// apply first and the mapping's own keys override them, as YAML specifies.
func (d *decoder) mapping(path string, n *yaml.Node, v reflect.Value) {
	fields := fieldsOf(v.Type())
	entries := d.entries(path, n, map[*yaml.Node]bool{})
	// Targets copy the resolved defaults, so they (and the accounts that
	// hold some) are decoded last whatever the key order in the file.
	slices.SortStableFunc(entries, func(a, b entry) int {
		last := func(k string) bool { return k == "targets" || k == "accounts" }
		ta, tb := last(a.key.Value), last(b.key.Value)
		switch {
		case ta == tb:
			return 0
		case ta:
			return 1
		}
		return -1
	})
	for _, e := range entries {
		p := join(path, e.key.Value)
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == e.key.Value })
		if i < 0 {
			d.problem(p, e.key.Line, "%s", unknownKey(e.key.Value, fields))
			continue
		}
		d.lines[p] = e.key.Line
		d.value(p, e.value, v.FieldByIndex(fields[i].index))
	}
}

// entries lists a mapping's key/value pairs, merged ones first, and reports
// duplicate and non-string keys.
func (d *decoder) entries(path string, n *yaml.Node, seen map[*yaml.Node]bool) []entry {
	if seen[n] {
		d.problem(path, n.Line, "merge key refers to its own mapping")
		return nil
	}
	seen[n] = true
	defer delete(seen, n)
	var merged, own []entry
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k = d.resolve(path, k); k == nil {
			continue
		}
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge") {
			merged = append(merged, d.merge(path, val, seen)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(path, k.Line, "keys must be plain strings, got a %s", kindName(k))
			continue
		}
		if line, dup := first[k.Value]; dup {
			d.problem(join(path, k.Value), k.Line, "key is set twice (first at line %d)", line)
			continue
		}
		first[k.Value] = k.Line
		own = append(own, entry{key: k, value: val})
	}
	// Own keys override merged ones; among merged mappings the first wins.
	out := make([]entry, 0, len(merged)+len(own))
	for i := len(merged) - 1; i >= 0; i-- {
		if _, overridden := first[merged[i].key.Value]; !overridden {
			out = append(out, merged[i])
		}
	}
	return append(dedupeKeepLast(out), own...)
}

func (d *decoder) merge(path string, val *yaml.Node, seen map[*yaml.Node]bool) []entry {
	if val = d.resolve(path, val); val == nil {
		return nil
	}
	switch val.Kind {
	case yaml.MappingNode:
		return d.entries(path, val, seen)
	case yaml.SequenceNode:
		var out []entry
		for _, item := range val.Content {
			if item = d.resolve(path, item); item == nil {
				continue
			}
			if item.Kind != yaml.MappingNode {
				d.problem(path, item.Line, "a merge key (<<) needs a mapping or a list of mappings, got a %s", kindName(item))
				continue
			}
			out = append(out, d.entries(path, item, seen)...)
		}
		return out
	}
	d.problem(path, val.Line, "a merge key (<<) needs a mapping or a list of mappings, got a %s", kindName(val))
	return nil
}

// dedupeKeepLast keeps the last entry of each key, in order.
func dedupeKeepLast(es []entry) []entry {
	last := map[string]int{}
	for i, e := range es {
		last[e.key.Value] = i
	}
	out := es[:0:0]
	for i, e := range es {
		if last[e.key.Value] == i {
			out = append(out, e)
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func unknownKey(key string, fields []field) string {
	best, bestDist := "", 3
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
		if dist := editDistance(key, f.name); dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key (did you mean %q?)", best)
	}
	return "unknown key (allowed: " + strings.Join(names, ", ") + ")"
}

// editDistance is the Levenshtein distance, for "did you mean" hints.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// DecodeStrict decodes a single YAML document into the struct into points
// to with this package's rules — unknown keys, wrong kinds, bad durations
// and alias bombs are problems with their YAML path and line, all at once —
// for the other YAML files of the project (the simulator's scenario). Keys
// left out keep what *into holds. It returns a *ValidationError, or nil.
func DecodeStrict(data []byte, into any) error {
	root, problem := parseDocument(data)
	if problem != nil {
		return &ValidationError{Problems: []Problem{*problem}}
	}
	if root == nil || isNull(root) {
		return nil
	}
	d := newDecoder(nil)
	d.maxNodes = nodeBudget(countWritten(root))
	if n := d.resolve("", root); n != nil {
		if n.Kind != yaml.MappingNode {
			d.problem("", n.Line, "the file must be a YAML mapping of settings, got a %s", kindName(n))
		} else {
			d.value("", n, reflect.ValueOf(into).Elem())
		}
	}
	if len(d.problems) > 0 {
		return &ValidationError{Problems: d.problems}
	}
	return nil
}
