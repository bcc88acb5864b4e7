// Package awsname is the one grammar of the AWS names pcautoscaler reads and
// writes: Lambda function references (a name, "name:qualifier", a partial
// ARN "123456789012:function:name[:qualifier]" or a full ARN
// "arn:partition:lambda:region:account:function:name[:qualifier]"),
// qualifiers, Regions and account IDs. The config, the AWS clients, discovery
// and the simulator all parse through it, so they agree on what is valid.
package awsname

import (
	"errors"
	"regexp"
	"strings"
)

var (
	// Lambda: "[a-zA-Z0-9-_]+", at most 64 characters.
	functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// An alias (at most 128) or a published version; $LATEST is a
	// qualifier too, but never one PC can be set on.
	qualifierRE = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9_-]{1,128})$`)
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
	// us-east-1, eu-central-2, us-gov-west-1, ap-southeast-10 (numbers
	// are not bounded to one digit: AWS has no such rule).
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// Function is a parsed function reference; fields the reference did not
// carry are empty.
type Function struct {
	Partition, Region, Account string // full ARN only (Account also from a partial ARN)
	Name                       string
	Qualifier                  string
}

// Form says how a reference was written.
type Form int

const (
	FormName    Form = iota // "name" or "name:qualifier"
	FormPartial             // "123456789012:function:name[:qualifier]"
	FormARN                 // "arn:…:lambda:…:function:name[:qualifier]"
)

// Why a reference does not parse, for an answer that says which part is
// wrong (the simulator answers with Lambda's messages).
var (
	ErrMalformedARN     = errors.New("malformed function ARN")
	ErrMalformedPartial = errors.New("malformed partial function ARN")
	ErrMalformedName    = errors.New("malformed function name")
	ErrFunctionName     = errors.New("function name must match [a-zA-Z0-9-_]+ and be at most 64 characters")
	ErrQualifier        = errors.New("qualifier must be $LATEST, a version or an alias name of [a-zA-Z0-9-_], at most 128 characters")
)

// ParseFunction parses a function reference in any of Lambda's forms. It
// checks the structure and the name's and qualifier's characters, not that
// Region or account are valid (ValidRegion, ValidAccount do).
func ParseFunction(s string) (Function, Form, bool) {
	f, form, err := ParseFunctionErr(s)
	return f, form, err == nil
}

// ParseFunctionErr is ParseFunction saying what is wrong.
func ParseFunctionErr(s string) (Function, Form, error) {
	var f Function
	parts := strings.Split(s, ":")
	var rest []string
	form := FormName
	switch {
	case parts[0] == "arn":
		if len(parts) < 7 || len(parts) > 8 || parts[2] != "lambda" || parts[5] != "function" {
			return f, FormARN, ErrMalformedARN
		}
		f.Partition, f.Region, f.Account = parts[1], parts[3], parts[4]
		rest, form = parts[6:], FormARN
	case len(parts) >= 3 && parts[1] == "function":
		if len(parts) > 4 {
			return f, FormPartial, ErrMalformedPartial
		}
		f.Account = parts[0]
		rest, form = parts[2:], FormPartial
	case len(parts) <= 2:
		rest = parts
	default:
		return f, form, ErrMalformedName
	}
	f.Name = rest[0]
	if !functionNameRE.MatchString(f.Name) {
		return f, form, ErrFunctionName
	}
	if len(rest) == 2 {
		f.Qualifier = rest[1]
		if !qualifierRE.MatchString(f.Qualifier) {
			return f, form, ErrQualifier
		}
	}
	return f, form, nil
}

// FunctionName is the bare name of a reference in any form; a reference
// that does not parse is returned unchanged (it then is not found).
func FunctionName(s string) string {
	if f, _, ok := ParseFunction(s); ok {
		return f.Name
	}
	return s
}

// QualifierOf is the qualifier a reference carries ("" when none or when
// it does not parse).
func QualifierOf(s string) string {
	if f, _, ok := ParseFunction(s); ok {
		return f.Qualifier
	}
	return ""
}

// ARN is the function's full ARN, qualified when Qualifier is set.
func ARN(partition, region, account, name, qualifier string) string {
	arn := "arn:" + partition + ":lambda:" + region + ":" + account + ":function:" + name
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn
}

// ValidFunctionName reports whether s is a bare function name.
func ValidFunctionName(s string) bool { return functionNameRE.MatchString(s) }

// ValidQualifier reports whether s is an alias name, a version or $LATEST.
func ValidQualifier(s string) bool { return qualifierRE.MatchString(s) }

// ValidRegion reports whether s looks like an AWS Region name.
func ValidRegion(s string) bool { return regionRE.MatchString(s) }

// ValidAccount reports whether s is a 12-digit account ID.
func ValidAccount(s string) bool { return accountRE.MatchString(s) }
