package controller

// Log keys: snake_case, fixed once, used by every log line of the loop.
const (
	KeyTarget       = "target"
	KeyFunction     = "function"
	KeyQualifier    = "qualifier"
	KeyFrom         = "from"
	KeyTo           = "to"
	KeyReason       = "reason"
	KeyDirection    = "direction"
	KeyAction       = "action"
	KeyUtilization  = "utilization"
	KeyDetail       = "detail"
	KeyError        = "error"
	KeyErrorClass   = "error_class"
	KeyDryRun       = "dry_run"
	KeyStatus       = "status"
	KeyStatusReason = "status_reason"
	KeyRetryAfter   = "retry_after"
	KeyUntil        = "until"
	KeyConstrained  = "constrained"
	KeyEffectiveMin = "effective_min"
	KeyEffectiveMax = "effective_max"
	KeyTargets      = "targets"
	KeyTook         = "took"
	KeyNext         = "next"
	KeyInterval     = "interval"
)
