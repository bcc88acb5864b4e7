package sim

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Lambda restJson1 list envelopes; the items are the World's views, which
// carry the member names as JSON tags.

type lambdaPCList struct {
	ProvisionedConcurrencyConfigs []PCView `json:"ProvisionedConcurrencyConfigs"`
	NextMarker                    string   `json:"NextMarker,omitempty"`
}

type lambdaAliasList struct {
	Aliases    []AliasView `json:"Aliases"`
	NextMarker string      `json:"NextMarker,omitempty"`
}

type lambdaFunctionList struct {
	Functions  []FunctionView `json:"Functions"`
	NextMarker string         `json:"NextMarker,omitempty"`
}

type lambdaVersionList struct {
	Versions   []FunctionView `json:"Versions"`
	NextMarker string         `json:"NextMarker,omitempty"`
}

// lambdaConcurrency is the body of Get/PutFunctionConcurrency; absent means
// no reservation.
type lambdaConcurrency struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

// lambdaPutPCInput is PutProvisionedConcurrencyConfig's body.
type lambdaPutPCInput struct {
	ProvisionedConcurrentExecutions *int `json:"ProvisionedConcurrentExecutions"`
}

// parseFunctionRef accepts the FunctionName forms Lambda accepts: a name
// ("my-fn"), a name with qualifier ("my-fn:live"), a partial ARN
// ("123456789012:function:my-fn") or a full ARN
// ("arn:aws:lambda:us-east-1:123456789012:function:my-fn[:live]").
func parseFunctionRef(s string) (name, qualifier string, err error) {
	if s == "" || len(s) > 170 {
		return "", "", errors.New("function name must be 1 to 170 characters")
	}
	parts := strings.Split(s, ":")
	var rest []string // name[, qualifier]
	switch {
	case parts[0] == "arn":
		// arn:partition:lambda:region:account:function:name[:qualifier]
		if len(parts) < 7 || len(parts) > 8 || parts[2] != "lambda" || parts[5] != "function" {
			return "", "", errors.New("malformed function ARN")
		}
		rest = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		// account:function:name[:qualifier]
		if len(parts) > 4 {
			return "", "", errors.New("malformed partial function ARN")
		}
		rest = parts[2:]
	case len(parts) <= 2:
		rest = parts
	default:
		return "", "", errors.New("malformed function name")
	}
	name = rest[0]
	if !validFunctionName(name) {
		return "", "", errors.New("function name must match [a-zA-Z0-9-_]+ and be at most 64 characters")
	}
	if len(rest) == 2 {
		qualifier = rest[1]
		if qualifier == "" || len(qualifier) > 128 {
			return "", "", errors.New("qualifier must be 1 to 128 characters")
		}
	}
	return name, qualifier, nil
}

func validFunctionName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, c := range name {
		ok := c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// pageParams reads Marker and MaxItems (1..max, default def) from a query.
func pageParams(q url.Values, def, max int) (marker string, maxItems int, err error) {
	marker = q.Get("Marker")
	maxItems = def
	if s := q.Get("MaxItems"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 || n > max {
			return "", 0, errors.New("MaxItems must be an integer from 1 to " + strconv.Itoa(max))
		}
		maxItems = n
	}
	return marker, maxItems, nil
}
