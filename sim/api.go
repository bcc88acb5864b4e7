package sim

import (
	"fmt"
	"strings"
	"time"
)

// This file is the contract between the world model (world.go and friends)
// and the HTTP layer (http_*.go, lambda_http*.go, cloudwatch_*.go): plain,
// protocol-neutral structs named like the AWS shapes, and the World's
// operations. Lambda views carry JSON tags with the restJson1 member names so
// the HTTP layer can encode them as they are.

// Fixed identity of the simulated account unless a scenario overrides it.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "123456789012"
)

// Lambda error codes and the messages AWS (or LocalStack's AWS-parity tests)
// give for them; see AWS-FACTS.md §3.3.
const (
	CodeInvalidParameter    = "InvalidParameterValueException"
	CodeResourceNotFound    = "ResourceNotFoundException"
	CodePCConfigNotFound    = "ProvisionedConcurrencyConfigNotFoundException"
	CodeResourceConflict    = "ResourceConflictException"
	CodePreconditionFailed  = "PreconditionFailedException" // 412: a RevisionId that is not the latest
	CodeValidation          = "ValidationException"         // 400: input outside the model's constraints
	CodeTooManyRequests     = "TooManyRequestsException"
	CodeServiceException    = "ServiceException"
	CodeCWInvalidParameter  = "InvalidParameterValue" // CloudWatch query-compatible code
	CodeCWMissingParameter  = "MissingParameter"      // CloudWatch
	CodeCWThrottling        = "Throttling"            // CloudWatch
	CodeCWInternalService   = "InternalServiceError"  // CloudWatch (InternalServiceFault)
	CodeCWInvalidNextToken  = "InvalidNextToken"      // CloudWatch
	TypeUser                = "User"                  // Lambda error Type
	TypeService             = "Service"               // Lambda error Type
	TypeSender              = "Sender"                // CloudWatch query fault
	TypeReceiver            = "Receiver"              // CloudWatch query fault
	StatusReasonInitFailure = "FUNCTION_ERROR_INIT_FAILURE"
)

// APIError is an error answer of a simulated operation. Status is the HTTP
// status; Code the error code (X-Amzn-ErrorType for Lambda, the query code
// for CloudWatch); Type "User"/"Service" (Lambda) or "Sender"/"Receiver"
// (CloudWatch). RetryAfterSeconds > 0 becomes a Retry-After header on 429.
type APIError struct {
	Status            int
	Code              string
	Message           string
	Type              string
	RetryAfterSeconds int
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// ErrorClass implements controller.ClassifiedError with the classes awsapi
// uses, so in-process callers react exactly as they would over HTTP.
func (e *APIError) ErrorClass() string {
	switch {
	case e.Status == 429 || e.Code == CodeCWThrottling || e.Code == "ThrottlingException":
		return "throttled"
	case e.Status == 409 || e.Status == 412:
		return "conflict"
	case e.Code == CodeResourceNotFound || e.Code == CodePCConfigNotFound:
		return "not_found"
	case e.Status == 400 && strings.Contains(strings.ToLower(e.Message), "alias with weights"):
		return "weighted" // as awsapi classifies it: a deploy, not a limit
	case e.Status == 400:
		return "invalid"
	case e.Status == 403:
		return "access_denied"
	case e.Status >= 500:
		return "server"
	}
	return "error"
}

// RetryAfter implements controller.ClassifiedError.
func (e *APIError) RetryAfter() time.Duration {
	return time.Duration(e.RetryAfterSeconds) * time.Second
}

// LastModifiedLayout is Lambda's LastModified format: "2019-11-21T19:32:12+0000".
const LastModifiedLayout = "2006-01-02T15:04:05-0700"

// PCView is a provisioned-concurrency config as Get/Put/List return it.
// FunctionArn is set in List results only (qualified ARN).
type PCView struct {
	FunctionArn  string    `json:"FunctionArn,omitempty"`
	Requested    int       `json:"RequestedProvisionedConcurrentExecutions"`
	Available    int       `json:"AvailableProvisionedConcurrentExecutions"`
	Allocated    int       `json:"AllocatedProvisionedConcurrentExecutions"`
	Status       string    `json:"Status"`                 // IN_PROGRESS | READY | FAILED
	StatusReason string    `json:"StatusReason,omitempty"` // set for FAILED
	LastModified string    `json:"LastModified"`           // LastModifiedLayout, UTC
	Modified     time.Time `json:"-"`                      // LastModified as a time
}

// AccountLimit and AccountUsage are GetAccountSettings' members.
type AccountLimit struct {
	TotalCodeSize                  int64 `json:"TotalCodeSize"`
	CodeSizeUnzipped               int64 `json:"CodeSizeUnzipped"`
	CodeSizeZipped                 int64 `json:"CodeSizeZipped"`
	ConcurrentExecutions           int   `json:"ConcurrentExecutions"`
	UnreservedConcurrentExecutions int   `json:"UnreservedConcurrentExecutions"`
}

type AccountUsage struct {
	TotalCodeSize int64 `json:"TotalCodeSize"`
	FunctionCount int64 `json:"FunctionCount"`
}

// AccountView is the GetAccountSettings response.
type AccountView struct {
	AccountLimit AccountLimit `json:"AccountLimit"`
	AccountUsage AccountUsage `json:"AccountUsage"`
}

// AliasRoutingConfig is an alias's weighted routing to a second version.
type AliasRoutingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights,omitempty"`
}

// AliasView is the GetAlias response and a ListAliases item.
type AliasView struct {
	AliasArn        string              `json:"AliasArn"`
	Name            string              `json:"Name"`
	FunctionVersion string              `json:"FunctionVersion"`
	Description     string              `json:"Description"`
	RoutingConfig   *AliasRoutingConfig `json:"RoutingConfig,omitempty"`
	RevisionId      string              `json:"RevisionId"`
}

// CreateAliasInput is CreateAlias's input.
type CreateAliasInput struct {
	Name            string
	FunctionVersion string
	Description     string
	RoutingConfig   *AliasRoutingConfig // nil or no weights: a plain alias
}

// UpdateAliasInput is UpdateAlias's input; what is left zero is unchanged.
type UpdateAliasInput struct {
	FunctionVersion string              // "" = unchanged
	Description     *string             // nil = unchanged
	RoutingConfig   *AliasRoutingConfig // nil = unchanged; no weights = clear them
	RevisionId      string              // "" = no check; else must be the alias's
}

// PublishVersionInput is PublishVersion's input; each check is skipped when "".
type PublishVersionInput struct {
	CodeSha256  string // must be $LATEST's
	Description string
	RevisionId  string // must be $LATEST's
}

// DeployRecord is one alias change or version publication the World
// answered (CreateAlias, UpdateAlias, DeleteAlias, PublishVersion), from
// the API or the scenario's deploys script: ground truth for tests and the
// fault suite. Version and Weights are the alias's after a success (the
// published version for PublishVersion), what was asked after a failure.
type DeployRecord struct {
	Time     time.Time          `json:"time"`
	Op       string             `json:"op"`
	Function string             `json:"function"`
	Alias    string             `json:"alias,omitempty"`
	Version  string             `json:"version,omitempty"`
	Weights  map[string]float64 `json:"weights,omitempty"`
	Result   string             `json:"result"` // WriteOK or the error code
	Caller   string             `json:"caller"` // as in the write log; CallerScenario for the script
}

// ResourceTagMapping is one GetResources item: a function ARN and its tags
// sorted by key.
type ResourceTagMapping struct {
	ResourceARN string
	Tags        []Tag
}

// Tag is one key and value.
type Tag struct {
	Key   string
	Value string
}

// TagFilter selects resources with tag Key and, when Values is not empty,
// one of those values.
type TagFilter struct {
	Key    string
	Values []string
}

// GetResourcesInput is the Resource Groups Tagging API's GetResources input.
type GetResourcesInput struct {
	TagFilters          []TagFilter
	ResourceTypeFilters []string // "lambda" or "lambda:function" match functions; others nothing
	ResourceARNList     []string // not with the filters or pagination
	ResourcesPerPage    int      // 0 = 50; 1..100
	TagsPerPage         int      // 0 = none; 100..500
	PaginationToken     string
}

// GetResourcesOutput is GetResources' page; PaginationToken is "" on the last.
type GetResourcesOutput struct {
	ResourceTagMappingList []ResourceTagMapping
	PaginationToken        string
}

// FunctionView is a FunctionConfiguration (GetFunctionConfiguration,
// ListFunctions, ListVersionsByFunction items).
type FunctionView struct {
	FunctionName     string   `json:"FunctionName"`
	FunctionArn      string   `json:"FunctionArn"`
	Runtime          string   `json:"Runtime"`
	Role             string   `json:"Role"`
	Handler          string   `json:"Handler"`
	CodeSize         int64    `json:"CodeSize"`
	Description      string   `json:"Description"`
	Timeout          int      `json:"Timeout"`
	MemorySize       int      `json:"MemorySize"`
	LastModified     string   `json:"LastModified"`
	CodeSha256       string   `json:"CodeSha256"`
	Version          string   `json:"Version"`
	State            string   `json:"State"`
	LastUpdateStatus string   `json:"LastUpdateStatus"`
	PackageType      string   `json:"PackageType"`
	Architectures    []string `json:"Architectures"`
	RevisionId       string   `json:"RevisionId"`
}

// CloudWatch shapes. Field names are the AWS member names so CBOR and JSON
// codecs can map them directly; times are UTC.

// Dimension is a CloudWatch dimension.
type Dimension struct {
	Name  string
	Value string
}

// Metric names one metric. Dimensions match as a set (order ignored).
type Metric struct {
	Namespace  string
	MetricName string
	Dimensions []Dimension
}

// MetricStat is a MetricDataQuery's metric, period (seconds, a multiple
// of 60) and statistic (Average | Maximum | Minimum | Sum | SampleCount).
type MetricStat struct {
	Metric Metric
	Period int32
	Stat   string
	Unit   string // optional; a unit that doesn't match the data yields no datapoints
}

// MetricDataQuery is one query; Expression is not supported by the simulator.
type MetricDataQuery struct {
	Id         string
	MetricStat *MetricStat
	Expression string
	Label      string
	ReturnData *bool // nil = true
	Period     int32
	AccountId  string
}

// MetricDataInput is GetMetricData's input.
type MetricDataInput struct {
	MetricDataQueries []MetricDataQuery
	StartTime         time.Time
	EndTime           time.Time
	ScanBy            string // TimestampDescending (default) | TimestampAscending
	MaxDatapoints     int    // 0 = 100,800
	NextToken         string
}

// MessageData is a CloudWatch message (Code, Value).
type MessageData struct {
	Code  string
	Value string
}

// MetricDataResult is one query's result page.
type MetricDataResult struct {
	Id         string
	Label      string
	StatusCode string // Complete | PartialData | InternalError | Forbidden
	Timestamps []time.Time
	Values     []float64
	Messages   []MessageData
}

// MetricDataOutput is GetMetricData's output.
type MetricDataOutput struct {
	MetricDataResults []MetricDataResult
	NextToken         string
	Messages          []MessageData
}

// StatisticSet is a pre-aggregated PutMetricData value.
type StatisticSet struct {
	SampleCount float64
	Sum         float64
	Minimum     float64
	Maximum     float64
}

// MetricDatum is one PutMetricData datum: Value, or Values with Counts, or
// StatisticValues. A zero Timestamp means now.
type MetricDatum struct {
	MetricName        string
	Dimensions        []Dimension
	Timestamp         time.Time
	Value             *float64
	Values            []float64
	Counts            []float64
	StatisticValues   *StatisticSet
	Unit              string
	StorageResolution int32
}

// Stats is the simulator's accounting, served at GET /_sim/stats.
type Stats struct {
	Start       time.Time                   `json:"start"`
	Now         time.Time                   `json:"now"`
	PCSeconds   float64                     `json:"pc_seconds"`
	Invocations int64                       `json:"invocations"`
	Spillover   int64                       `json:"spillover_invocations"`
	Targets     map[string]TargetStats      `json:"targets"`   // key "fn:qualifier"
	APICalls    map[string]map[string]int64 `json:"api_calls"` // operation → code ("OK" for success) → count
}

// TargetStats is the accounting of one qualifier.
type TargetStats struct {
	PCSeconds              float64 `json:"pc_seconds"`
	Invocations            int64   `json:"invocations"`
	ProvisionedInvocations int64   `json:"provisioned_invocations"`
	Spillover              int64   `json:"spillover_invocations"`
	PeakConcurrency        int     `json:"peak_concurrency"`
}

// MinuteStat is one simulated minute of one qualifier, for backtest charts.
type MinuteStat struct {
	Start           time.Time `json:"start"`
	Invocations     int64     `json:"invocations"`
	Spillover       int64     `json:"spillover_invocations"`
	PeakConcurrency int       `json:"peak_concurrency"`
	PCAllocated     float64   `json:"pc_allocated"` // average allocated PC over the minute
	PCAvailable     float64   `json:"pc_available"` // average available PC over the minute
}

// CodeOK is the code CountAPICall records for a successful call.
const CodeOK = "OK"

// The World's operations (world.go, control.go for Lambda, metricquery.go
// for CloudWatch, faults.go, stats.go, writelog.go, inprocess.go):
//
//	NewWorld(sc *Scenario, clk controller.Clock) (*World, error)
//	(w *World) AdvanceTo(t time.Time)
//	(w *World) PutProvisionedConcurrency(fn, qualifier string, n int) (PCView, error)
//	(w *World) PutProvisionedConcurrencyAs(caller, fn, qualifier string, n int) (PCView, error)
//	(w *World) GetProvisionedConcurrency(fn, qualifier string) (PCView, error)
//	(w *World) DeleteProvisionedConcurrency(fn, qualifier string) error
//	(w *World) DeleteProvisionedConcurrencyAs(caller, fn, qualifier string) error
//	(w *World) ListProvisionedConcurrency(fn, marker string, maxItems int) ([]PCView, string, error)
//	(w *World) GetFunctionConcurrency(fn string) (*int, error)
//	(w *World) PutFunctionConcurrency(fn string, n int) error
//	(w *World) DeleteFunctionConcurrency(fn string) error
//	(w *World) AccountSettings() AccountView
//	(w *World) GetAlias(fn, name string) (AliasView, error)
//	(w *World) ListAliases(fn, marker string, maxItems int) ([]AliasView, string, error)
//	(w *World) ListAliasesByVersion(fn, version, marker string, maxItems int) ([]AliasView, string, error)
//	(w *World) CreateAlias(fn string, in CreateAliasInput) (AliasView, error)
//	(w *World) UpdateAlias(fn, name string, in UpdateAliasInput) (AliasView, error)
//	(w *World) DeleteAlias(fn, name string) error
//	(w *World) PublishVersion(fn string, in PublishVersionInput) (FunctionView, error)
//	(w *World) DeployLog() []DeployRecord
//	(w *World) TagResource(arn string, tags map[string]string) error
//	(w *World) UntagResource(arn string, keys []string) error
//	(w *World) ListTags(arn string) (map[string]string, error)
//	(w *World) GetResources(in GetResourcesInput) (GetResourcesOutput, error)
//	(w *World) ListVersions(fn, marker string, maxItems int) ([]FunctionView, string, error)
//	(w *World) ListFunctions(marker string, maxItems int) ([]FunctionView, string, error)
//	(w *World) GetFunctionConfiguration(fn, qualifier string) (FunctionView, error)
//	(w *World) GetFunction(fn, qualifier string) (GetFunctionView, error)
//	(w *World) GetMetricData(in MetricDataInput) (MetricDataOutput, error)
//	(w *World) PutMetricData(namespace string, data []MetricDatum) error
//	(w *World) ListMetrics(namespace, metricName string, dims []Dimension) []Metric
//	(w *World) Fault(op string) (time.Duration, *APIError)
//	(w *World) CountAPICall(op, code string)
//	(w *World) Stats() Stats
//	(w *World) Minutes(fn, qualifier string) []MinuteStat
//	(w *World) WriteLog() []WriteRecord
//	(w *World) InProcess() (controller.PCStore, controller.MetricSource)
//	(w *World) Clock() controller.Clock
//
// Every error they return is an *APIError.
