package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// UnmarshalYAML reads "90s", "5m", "1h30m" (Go duration syntax). A bare
// number other than 0 is rejected: "90" could mean seconds or minutes.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a duration such as 90s, 5m or 1h30m, got a %s", kindName(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration parses the duration syntax of the config file.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return Duration{}, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return Duration{}, fmt.Errorf("invalid duration %q (want a number with a unit: 90s, 5m, 1h30m)", s)
	}
	return Duration{v}, nil
}

// String renders the duration without zero units: 5m, 1h30m, 168h, 0s.
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalYAML writes the duration back in the syntax UnmarshalYAML reads.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads an absolute step ("10"), a percentage ("25%") or 0
// (unlimited).
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf(`want a step such as 10 or "25%%" (0 = unlimited), got a %s`, kindName(n))
	}
	v, err := ParseStep(n.Value)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseStep parses "10", "25%" or "0". Ranges are checked by Validate, so a
// negative value parses here and is reported there with its YAML path.
func ParseStep(s string) (Step, error) {
	s = strings.TrimSpace(s)
	if num, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
			return Step{}, fmt.Errorf(`invalid step %q (want a whole number such as 10, a percentage such as "25%%", or 0 for unlimited)`, s)
		}
		if p == 0 {
			// Percent 0 is indistinguishable from "unlimited"; make the writer say so.
			return Step{}, fmt.Errorf(`invalid step %q (write 0 for unlimited)`, s)
		}
		return Step{Percent: p}, nil
	}
	a, err := strconv.Atoi(s)
	if err != nil {
		return Step{}, fmt.Errorf(`invalid step %q (want a whole number such as 10, a percentage such as "25%%", or 0 for unlimited)`, s)
	}
	return Step{Absolute: a}, nil
}

// String renders the step as the file would write it.
func (s Step) String() string {
	if s.Percent != 0 {
		return strconv.FormatFloat(s.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(s.Absolute)
}

// MarshalYAML writes the step back in the syntax UnmarshalYAML reads.
func (s Step) MarshalYAML() (any, error) { return s.String(), nil }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	switch n.ShortTag() {
	case "!!int":
		return "number"
	case "!!float":
		return "number"
	case "!!bool":
		return "boolean"
	case "!!null":
		return "null"
	}
	return "string"
}
