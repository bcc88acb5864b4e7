package awsapi

import (
	"time"

	"github.com/pcautoscaler/pcautoscaler/internal/awsname"
)

// lastModifiedLayouts: Lambda writes "2019-11-21T19:32:12+0000"; emulators
// write RFC 3339, with or without fractions.
var lastModifiedLayouts = []string{
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05.999999999-0700",
	time.RFC3339Nano,
}

// parseLastModified returns the zero time for an empty or unknown format; the
// controller then rebuilds no cooldown from it rather than a wrong one.
func parseLastModified(s string) time.Time {
	for _, layout := range lastModifiedLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// qualifierOf returns the qualifier a function reference carries
// (arn:aws:lambda:region:account:function:name:qualifier), "" otherwise.
func qualifierOf(arn string) string { return awsname.QualifierOf(arn) }

// isVersion reports whether a qualifier is a published version number, which
// has no routing config (GetAlias would 404).
func isVersion(q string) bool {
	if q == "" {
		return false
	}
	for _, r := range q {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// FunctionName returns the bare function name of a name, partial ARN
// (123456789012:function:name) or full ARN, as CloudWatch's FunctionName
// dimension needs it.
func FunctionName(function string) string { return awsname.FunctionName(function) }
