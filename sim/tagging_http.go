package sim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The Resource Groups Tagging API over AWS JSON 1.1 (the Go SDK's
// resourcegroupstaggingapi v1.41 and botocore both use it): POST / with
// X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources. Only
// GetResources is served; its other operations are unknown.

const taggingService = "ResourceGroupsTaggingAPI_20170126"

func isTaggingTarget(target string) bool {
	return strings.HasPrefix(target, taggingService+".")
}

type taggingTagFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type taggingGetResourcesInput struct {
	PaginationToken           string             `json:"PaginationToken"`
	TagFilters                []taggingTagFilter `json:"TagFilters"`
	ResourcesPerPage          int                `json:"ResourcesPerPage"`
	TagsPerPage               int                `json:"TagsPerPage"`
	ResourceTypeFilters       []string           `json:"ResourceTypeFilters"`
	IncludeComplianceDetails  bool               `json:"IncludeComplianceDetails"`
	ExcludeCompliantResources bool               `json:"ExcludeCompliantResources"`
	ResourceARNList           []string           `json:"ResourceARNList"`
}

type taggingMapping struct {
	ResourceARN string `json:"ResourceARN"`
	Tags        []Tag  `json:"Tags"`
}

// taggingGetResourcesOutput: AWS answers an empty PaginationToken, not
// none, on the last page; both the SDK's paginator and botocore stop on it.
type taggingGetResourcesOutput struct {
	PaginationToken        string           `json:"PaginationToken"`
	ResourceTagMappingList []taggingMapping `json:"ResourceTagMappingList"`
}

func (h *handler) serveTagging(w http.ResponseWriter, r *http.Request, c *call) {
	c.protocol = protoTagging
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if op != opGetResources {
		h.fail(w, c, &wireError{status: http.StatusBadRequest, code: "UnknownOperationException", message: "Unknown operation " + taggingService + "." + op}, writeTaggingError)
		return
	}
	c.op = op
	body, err := readBody(w, r)
	if err != nil {
		h.fail(w, c, taggingSerialization(err.Error()), writeTaggingError)
		return
	}
	if h.world.outage(op) {
		h.hangUp(w, c)
		return
	}
	if e := h.begin(w, r, c); e != nil {
		h.fail(w, c, e, writeTaggingError)
		return
	}
	var in taggingGetResourcesInput
	if err := (jsonCodec{}).decode(body, &in); err != nil {
		h.fail(w, c, taggingSerialization(err.Error()), writeTaggingError)
		return
	}
	wi := GetResourcesInput{
		ResourceTypeFilters: in.ResourceTypeFilters,
		ResourceARNList:     in.ResourceARNList,
		ResourcesPerPage:    in.ResourcesPerPage,
		TagsPerPage:         in.TagsPerPage,
		PaginationToken:     in.PaginationToken,
	}
	for _, tf := range in.TagFilters {
		wi.TagFilters = append(wi.TagFilters, TagFilter(tf))
	}
	res, werr := h.world.GetResources(wi)
	if werr != nil {
		h.fail(w, c, taggingWireError(werr), writeTaggingError)
		return
	}
	out := taggingGetResourcesOutput{PaginationToken: res.PaginationToken, ResourceTagMappingList: []taggingMapping{}}
	for _, m := range res.ResourceTagMappingList {
		out.ResourceTagMappingList = append(out.ResourceTagMappingList, taggingMapping(m))
	}
	h.succeed(c, http.StatusOK)
	writeTaggingJSON(w, http.StatusOK, out)
}

// taggingWireError maps a World error, or an injected fault in Lambda's
// shapes, onto the Tagging API's error shapes.
func taggingWireError(err error) *wireError {
	e := lambdaWireErrorOf(err)
	switch {
	case e.code == CodeTagInvalidParameter || e.code == CodeTagTokenExpired:
	case e.status == http.StatusTooManyRequests || e.code == CodeTooManyRequests || e.code == CodeTagThrottled:
		e.status, e.code = http.StatusBadRequest, CodeTagThrottled
	case e.status >= 500:
		e.code = CodeTagInternal
	case e.status == http.StatusConflict:
		e.status, e.code = http.StatusBadRequest, "ConcurrentModificationException"
	default:
		e.status, e.code = http.StatusBadRequest, CodeTagInvalidParameter
	}
	e.retryAfter, e.reason = 0, ""
	return e
}

func taggingSerialization(msg string) *wireError {
	return &wireError{status: http.StatusBadRequest, code: "SerializationException", message: msg}
}

// writeTaggingError writes an AWS JSON 1.1 error: the shape in __type, the
// message in Message (the Tagging API's member name).
func writeTaggingError(w http.ResponseWriter, e *wireError) {
	w.Header().Set("X-Amzn-ErrorType", e.code)
	writeTaggingJSON(w, e.status, map[string]string{"__type": e.code, "Message": e.message})
}

func writeTaggingJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"__type":"InternalServiceException","Message":"encoding response"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
