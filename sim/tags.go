package sim

import (
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Function tags: Lambda's TagResource, UntagResource and ListTags (on
// function ARNs only), and the Resource Groups Tagging API's GetResources,
// which finds tagged functions server-side. Tags belong to the function,
// not to its versions or aliases.

// Operation names.
const (
	opTagResource   = "TagResource"
	opUntagResource = "UntagResource"
	opListTags      = "ListTags"
	opGetResources  = "GetResources"
)

// Tagging API error codes (its own shapes, AWS JSON 1.1).
const (
	CodeTagInvalidParameter = "InvalidParameterException"
	CodeTagTokenExpired     = "PaginationTokenExpiredException"
	CodeTagThrottled        = "ThrottledException"
	CodeTagInternal         = "InternalServiceException"
)

// Limits of TagResource (Lambda quotas) and GetResources (its model).
const (
	maxTagsPerFunction = 50
	maxTagKeyLen       = 128
	maxTagValueLen     = 256
	tokenLifetime      = 15 * time.Minute // "A PaginationToken is valid for a maximum of 15 minutes"
)

var taggableARN = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)

// tagsProblem checks a function's whole tag set: "" when it is valid. The
// count's message is Lambda's (LocalStack parity); the others are ours.
func tagsProblem(tags map[string]string) string {
	if len(tags) > maxTagsPerFunction {
		return "Number of tags exceeds resource tag limit."
	}
	for _, k := range sortedKeys(tags) {
		switch n := utf8.RuneCountInString(k); {
		case n < 1 || n > maxTagKeyLen:
			return fmt.Sprintf("The tag key %q must be 1 to %d characters.", k, maxTagKeyLen)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return fmt.Sprintf("The tag key %q starts with \"aws:\", which is reserved for AWS use.", k)
		case utf8.RuneCountInString(tags[k]) > maxTagValueLen:
			return fmt.Sprintf("The value of tag %q is longer than %d characters.", k, maxTagValueLen)
		}
	}
	return ""
}

// taggedFunction resolves a TagResource/UntagResource/ListTags resource: a
// function ARN, not a name, a version or an alias.
func (w *World) taggedFunction(arn string) (*function, *APIError) {
	if !taggableARN.MatchString(arn) {
		return nil, errValidation("Value '%s' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?", arn)
	}
	f, q, aerr := w.lookup(arn, "")
	if aerr != nil {
		return nil, aerr
	}
	if q != "" {
		return nil, errInvalid("Tags on function aliases and versions are not supported. Please specify a function ARN.")
	}
	return f, nil
}

// TagResource adds or replaces tags on a function.
func (w *World) TagResource(arn string, tags map[string]string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, aerr := w.taggedFunction(arn)
	if aerr != nil {
		return aerr
	}
	if len(tags) == 0 {
		return errInvalid("An error occurred and the request cannot be processed.")
	}
	next := maps.Clone(f.tags)
	if next == nil {
		next = map[string]string{}
	}
	maps.Copy(next, tags)
	if msg := tagsProblem(next); msg != "" {
		return errInvalid(msg)
	}
	f.tags, f.tagged = next, true
	return nil
}

// UntagResource removes tags by key; keys it doesn't have are ignored.
func (w *World) UntagResource(arn string, keys []string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, aerr := w.taggedFunction(arn)
	if aerr != nil {
		return aerr
	}
	if len(keys) == 0 {
		return errValidation("Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	for _, k := range keys {
		delete(f.tags, k)
	}
	return nil
}

// ListTags returns a function's tags (an empty map when it has none).
func (w *World) ListTags(arn string) (map[string]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, aerr := w.taggedFunction(arn)
	if aerr != nil {
		return nil, aerr
	}
	out := maps.Clone(f.tags)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

func errTagging(msg string) *APIError {
	return &APIError{Status: 400, Code: CodeTagInvalidParameter, Message: msg, Type: TypeSender}
}

// GetResources is the Resource Groups Tagging API's GetResources for this
// account's Lambda functions: every function that has, or ever had, a tag
// (with its tags now, maybe none), narrowed by TagFilters (all must match;
// a filter matches a function with its key and, if it lists values, one of
// them) and ResourceTypeFilters, in ARN order, a page at a time.
func (w *World) GetResources(in GetResourcesInput) (GetResourcesOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()
	if aerr := checkGetResources(in); aerr != nil {
		return GetResourcesOutput{}, aerr
	}
	if len(in.ResourceARNList) > 0 {
		return w.resourcesByARN(in.ResourceARNList), nil
	}
	if !typeFilterMatchesFunctions(in.ResourceTypeFilters) {
		return GetResourcesOutput{ResourceTagMappingList: []ResourceTagMapping{}}, nil
	}
	from := 0
	if in.PaginationToken != "" {
		issued, name, ok := decodeToken(in.PaginationToken)
		if !ok {
			return GetResourcesOutput{}, errTagging("The specified pagination token is not valid.")
		}
		if now.Sub(issued) > tokenLifetime {
			return GetResourcesOutput{}, &APIError{Status: 400, Code: CodeTagTokenExpired, Message: "The specified pagination token has expired.", Type: TypeSender}
		}
		from = sort.SearchStrings(w.order, name)
	}
	perPage := in.ResourcesPerPage
	if perPage == 0 {
		perPage = 50
	}
	out := GetResourcesOutput{ResourceTagMappingList: []ResourceTagMapping{}}
	tags := 0
	for i := from; i < len(w.order); i++ {
		f := w.funcs[w.order[i]]
		if !f.tagged || !matchesTagFilters(f.tags, in.TagFilters) {
			continue
		}
		n := max(len(f.tags), 1) // a resource without tags counts as one
		if len(out.ResourceTagMappingList) == perPage || (in.TagsPerPage > 0 && len(out.ResourceTagMappingList) > 0 && tags+n > in.TagsPerPage) {
			out.PaginationToken = encodeToken(now, f.name)
			break
		}
		tags += n
		out.ResourceTagMappingList = append(out.ResourceTagMappingList, w.tagMapping(f))
	}
	return out, nil
}

// checkGetResources applies the input's constraints (the model's and the
// documented combinations). The messages are ours.
func checkGetResources(in GetResourcesInput) *APIError {
	switch {
	case len(in.ResourceARNList) > 0 && (len(in.TagFilters) > 0 || len(in.ResourceTypeFilters) > 0):
		return errTagging("ResourceARNList can't be specified together with TagFilters or ResourceTypeFilters.")
	case len(in.ResourceARNList) > 0 && (in.ResourcesPerPage != 0 || in.TagsPerPage != 0 || in.PaginationToken != ""):
		return errTagging("ResourceARNList can't be specified together with ResourcesPerPage, TagsPerPage or PaginationToken.")
	case len(in.ResourceARNList) > 100:
		return errTagging("ResourceARNList must have at most 100 items.")
	case in.ResourcesPerPage != 0 && (in.ResourcesPerPage < 1 || in.ResourcesPerPage > 100):
		return errTagging("ResourcesPerPage must be from 1 to 100, got " + strconv.Itoa(in.ResourcesPerPage) + ".")
	case in.TagsPerPage != 0 && (in.TagsPerPage < 100 || in.TagsPerPage > 500):
		return errTagging("TagsPerPage must be from 100 to 500, got " + strconv.Itoa(in.TagsPerPage) + ".")
	case len(in.TagFilters) > 50:
		return errTagging("TagFilters must have at most 50 items.")
	case len(in.ResourceTypeFilters) > 100:
		return errTagging("ResourceTypeFilters must have at most 100 items.")
	}
	for _, tf := range in.TagFilters {
		switch {
		case tf.Key == "" || utf8.RuneCountInString(tf.Key) > maxTagKeyLen:
			return errTagging("A TagFilter's Key must be 1 to 128 characters.")
		case len(tf.Values) > 20:
			return errTagging("A TagFilter has at most 20 Values.")
		}
		for _, v := range tf.Values {
			if utf8.RuneCountInString(v) > maxTagValueLen {
				return errTagging("A TagFilter's Values are at most 256 characters.")
			}
		}
	}
	return nil
}

// typeFilterMatchesFunctions reports whether ResourceTypeFilters (service
// or service:type, as in ARNs) let Lambda functions through.
func typeFilterMatchesFunctions(filters []string) bool {
	if len(filters) == 0 {
		return true
	}
	for _, t := range filters {
		if t == "lambda" || t == "lambda:function" {
			return true
		}
	}
	return false
}

func matchesTagFilters(tags map[string]string, filters []TagFilter) bool {
	for _, tf := range filters {
		v, ok := tags[tf.Key]
		if !ok {
			return false
		}
		if len(tf.Values) > 0 && !slices.Contains(tf.Values, v) {
			return false
		}
	}
	return true
}

// resourcesByARN answers a ResourceARNList: the listed functions that are
// (or were) tagged, in the list's order; others are left out, not errors.
func (w *World) resourcesByARN(arns []string) GetResourcesOutput {
	out := GetResourcesOutput{ResourceTagMappingList: []ResourceTagMapping{}}
	seen := map[string]bool{}
	for _, arn := range arns {
		if !taggableARN.MatchString(arn) || seen[arn] {
			continue
		}
		seen[arn] = true
		if f, q, aerr := w.lookup(arn, ""); aerr == nil && q == "" && f.tagged {
			out.ResourceTagMappingList = append(out.ResourceTagMappingList, w.tagMapping(f))
		}
	}
	return out
}

func (w *World) tagMapping(f *function) ResourceTagMapping {
	m := ResourceTagMapping{ResourceARN: w.functionARN(f.name), Tags: make([]Tag, 0, len(f.tags))}
	for _, k := range sortedKeys(f.tags) {
		m.Tags = append(m.Tags, Tag{Key: k, Value: f.tags[k]})
	}
	return m
}

// A pagination token carries when it was issued (tokens expire) and the
// name of the next function: opaque to clients, stable across calls.
func encodeToken(issued time.Time, next string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("1|" + strconv.FormatInt(issued.Unix(), 10) + "|" + next))
}

func decodeToken(tok string) (time.Time, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", false
	}
	parts := strings.SplitN(string(raw), "|", 3)
	if len(parts) != 3 || parts[0] != "1" || parts[2] == "" {
		return time.Time{}, "", false
	}
	secs, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return time.Time{}, "", false
	}
	return time.Unix(secs, 0), parts[2], true
}
