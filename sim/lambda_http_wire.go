package sim

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/pcautoscaler/pcautoscaler/internal/awsname"
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
	f, _, err := awsname.ParseFunctionErr(s)
	if err != nil {
		return "", "", err
	}
	name, qualifier = f.Name, f.Qualifier
	return name, qualifier, nil
}

func validFunctionName(name string) bool { return awsname.ValidFunctionName(name) }

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
