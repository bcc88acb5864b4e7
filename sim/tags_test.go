package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	rgtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

// tagScenario: fn-a..fn-e, tagged in the scenario except fn-c; fn-a has an
// alias. Lambda allows one call a second, GetResources two.
const tagScenario = `
seed: 1
account: {control_plane_rps: 1, tagging_rps: 2}
functions:
  - {name: fn-a, tags: {pcautoscaler: "on", team: pay}, aliases: [{name: live, version: "1"}]}
  - {name: fn-b, tags: {pcautoscaler: "off"}}
  - {name: fn-c}
  - {name: fn-d, tags: {pcautoscaler: "on"}}
  - {name: fn-e, tags: {team: pay}}
`

func fnARN(name string) string { return "arn:aws:lambda:us-east-1:123456789012:function:" + name }

func manyTags(n int) map[string]string {
	tags := map[string]string{}
	for i := range n {
		tags[fmt.Sprintf("k%02d", i)] = "v"
	}
	return tags
}

func TestTagOperationRules(t *testing.T) {
	tests := []struct {
		name      string
		call      func(w *World) error
		status    int
		code, msg string
	}{
		{name: "a name, not an ARN", status: 400, code: CodeValidation,
			call: func(w *World) error { return w.TagResource("fn-a", map[string]string{"k": "v"}) }},
		{name: "an alias ARN", status: 400, code: CodeInvalidParameter, msg: "Tags on function aliases and versions are not supported. Please specify a function ARN.",
			call: func(w *World) error { return w.TagResource(fnARN("fn-a")+":live", map[string]string{"k": "v"}) }},
		{name: "a version ARN to ListTags", status: 400, code: CodeInvalidParameter,
			call: func(w *World) error { _, err := w.ListTags(fnARN("fn-a") + ":1"); return err }},
		{name: "an unknown function", status: 404, code: CodeResourceNotFound, msg: "Function not found: " + fnARN("nope"),
			call: func(w *World) error { return w.TagResource(fnARN("nope"), map[string]string{"k": "v"}) }},
		{name: "another account", status: 404, code: CodeResourceNotFound,
			call: func(w *World) error {
				return w.TagResource("arn:aws:lambda:us-east-1:999999999999:function:fn-a", map[string]string{"k": "v"})
			}},
		{name: "no tags", status: 400, code: CodeInvalidParameter, msg: "An error occurred and the request cannot be processed.",
			call: func(w *World) error { return w.TagResource(fnARN("fn-a"), nil) }},
		{name: "51 with those it has", status: 400, code: CodeInvalidParameter, msg: "Number of tags exceeds resource tag limit.",
			call: func(w *World) error { return w.TagResource(fnARN("fn-a"), manyTags(49)) }},
		{name: "50 with those it has",
			call: func(w *World) error { return w.TagResource(fnARN("fn-a"), manyTags(48)) }},
		{name: "a key of 129 characters", status: 400, code: CodeInvalidParameter,
			call: func(w *World) error {
				return w.TagResource(fnARN("fn-a"), map[string]string{strings.Repeat("k", 129): "v"})
			}},
		{name: "a key of 128 characters",
			call: func(w *World) error {
				return w.TagResource(fnARN("fn-a"), map[string]string{strings.Repeat("k", 128): "v"})
			}},
		{name: "a reserved key", status: 400, code: CodeInvalidParameter,
			call: func(w *World) error { return w.TagResource(fnARN("fn-a"), map[string]string{"AWS:owner": "v"}) }},
		{name: "a value of 257 characters", status: 400, code: CodeInvalidParameter,
			call: func(w *World) error {
				return w.TagResource(fnARN("fn-a"), map[string]string{"k": strings.Repeat("v", 257)})
			}},
		{name: "an empty value",
			call: func(w *World) error { return w.TagResource(fnARN("fn-a"), map[string]string{"k": ""}) }},
		{name: "untag without keys", status: 400, code: CodeValidation,
			call: func(w *World) error { return w.UntagResource(fnARN("fn-a"), nil) }},
		{name: "untag a key it doesn't have",
			call: func(w *World) error { return w.UntagResource(fnARN("fn-a"), []string{"nope"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWorld(t, tagScenario)
			err := tt.call(w)
			if tt.code == "" {
				require.NoError(t, err)
				return
			}
			requireAPIError(t, err, tt.status, tt.code, tt.msg)
			tags, err := w.ListTags(fnARN("fn-a"))
			require.NoError(t, err)
			require.Equal(t, map[string]string{"pcautoscaler": "on", "team": "pay"}, tags, "a refused call changes nothing")
		})
	}
}

func TestTagsScenarioValidation(t *testing.T) {
	_, err := ParseScenario([]byte("functions: [{name: a, tags: {\"aws:x\": y}}, {name: b, tags: {k: \"" + strings.Repeat("v", 300) + "\"}}]\n"))
	require.ErrorContains(t, err, `functions[0].tags: The tag key "aws:x" starts with "aws:", which is reserved for AWS use.`)
	require.ErrorContains(t, err, `functions[1].tags: The value of tag "k" is longer than 256 characters.`)
}

func arnsOf(out GetResourcesOutput) []string {
	var names []string
	for _, m := range out.ResourceTagMappingList {
		names = append(names, strings.TrimPrefix(m.ResourceARN, fnARN("")))
	}
	return names
}

func TestGetResources(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, w *World)
		in    GetResourcesInput
		want  []string
		code  string
	}{
		{name: "every tagged function", want: []string{"fn-a", "fn-b", "fn-d", "fn-e"}},
		{name: "by key", in: GetResourcesInput{TagFilters: []TagFilter{{Key: "team"}}}, want: []string{"fn-a", "fn-e"}},
		{name: "by key and value", in: GetResourcesInput{TagFilters: []TagFilter{{Key: "pcautoscaler", Values: []string{"on"}}}}, want: []string{"fn-a", "fn-d"}},
		{name: "any of the values", in: GetResourcesInput{TagFilters: []TagFilter{{Key: "pcautoscaler", Values: []string{"off", "on"}}}}, want: []string{"fn-a", "fn-b", "fn-d"}},
		{name: "all filters", in: GetResourcesInput{TagFilters: []TagFilter{{Key: "pcautoscaler", Values: []string{"on"}}, {Key: "team"}}}, want: []string{"fn-a"}},
		{name: "lambda functions", in: GetResourcesInput{ResourceTypeFilters: []string{"ec2:instance", "lambda:function"}}, want: []string{"fn-a", "fn-b", "fn-d", "fn-e"}},
		{name: "another type", in: GetResourcesInput{ResourceTypeFilters: []string{"ec2:instance"}}, want: nil},
		{name: "by ARN, untagged and unknown left out",
			in:   GetResourcesInput{ResourceARNList: []string{fnARN("fn-d"), fnARN("fn-c"), fnARN("nope"), fnARN("fn-a")}},
			want: []string{"fn-d", "fn-a"}},
		{name: "tagged since start", setup: func(t *testing.T, w *World) {
			require.NoError(t, w.TagResource(fnARN("fn-c"), map[string]string{"pcautoscaler": "on"}))
		}, in: GetResourcesInput{TagFilters: []TagFilter{{Key: "pcautoscaler", Values: []string{"on"}}}}, want: []string{"fn-a", "fn-c", "fn-d"}},
		{name: "once tagged, still listed without tags", setup: func(t *testing.T, w *World) {
			require.NoError(t, w.UntagResource(fnARN("fn-e"), []string{"team"}))
		}, want: []string{"fn-a", "fn-b", "fn-d", "fn-e"}},
		{name: "once tagged, not matched", setup: func(t *testing.T, w *World) {
			require.NoError(t, w.UntagResource(fnARN("fn-e"), []string{"team"}))
		}, in: GetResourcesInput{TagFilters: []TagFilter{{Key: "team"}}}, want: []string{"fn-a"}},
		{name: "ARN list with filters", in: GetResourcesInput{ResourceARNList: []string{fnARN("fn-a")}, TagFilters: []TagFilter{{Key: "team"}}}, code: CodeTagInvalidParameter},
		{name: "ARN list with a page size", in: GetResourcesInput{ResourceARNList: []string{fnARN("fn-a")}, ResourcesPerPage: 5}, code: CodeTagInvalidParameter},
		{name: "page size", in: GetResourcesInput{ResourcesPerPage: 101}, code: CodeTagInvalidParameter},
		{name: "tags per page", in: GetResourcesInput{TagsPerPage: 99}, code: CodeTagInvalidParameter},
		{name: "filter without key", in: GetResourcesInput{TagFilters: []TagFilter{{Values: []string{"on"}}}}, code: CodeTagInvalidParameter},
		{name: "a token of ours only", in: GetResourcesInput{PaginationToken: "garbage"}, code: CodeTagInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWorld(t, tagScenario)
			if tt.setup != nil {
				tt.setup(t, w)
			}
			out, err := w.GetResources(tt.in)
			if tt.code != "" {
				requireAPIError(t, err, 400, tt.code, "")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, arnsOf(out))
			require.Empty(t, out.PaginationToken)
		})
	}
}

func TestGetResourcesPages(t *testing.T) {
	w, clk := newTestWorld(t, tagScenario)
	require.NoError(t, w.TagResource(fnARN("fn-a"), manyTags(48))) // fn-a has 50 tags now
	require.NoError(t, w.TagResource(fnARN("fn-b"), manyTags(48)))

	var pages [][]string
	in := GetResourcesInput{ResourcesPerPage: 3}
	for {
		out, err := w.GetResources(in)
		require.NoError(t, err)
		pages = append(pages, arnsOf(out))
		if out.PaginationToken == "" {
			break
		}
		in.PaginationToken = out.PaginationToken
	}
	require.Equal(t, [][]string{{"fn-a", "fn-b", "fn-d"}, {"fn-e"}}, pages)

	// A resource and its tags are never split across pages: fn-a (50 tags),
	// fn-b (49) and fn-d (1) fill 100; fn-e would make 101.
	out, err := w.GetResources(GetResourcesInput{TagsPerPage: 100})
	require.NoError(t, err)
	require.Equal(t, []string{"fn-a", "fn-b", "fn-d"}, arnsOf(out))
	require.Len(t, out.ResourceTagMappingList[0].Tags, 50)
	require.Equal(t, Tag{Key: "k00", Value: "v"}, out.ResourceTagMappingList[0].Tags[0], "tags sorted by key")

	// Tokens last 15 minutes.
	clk.Advance(15*time.Minute + time.Second)
	_, err = w.GetResources(GetResourcesInput{TagsPerPage: 100, PaginationToken: out.PaginationToken})
	requireAPIError(t, err, 400, CodeTagTokenExpired, "")
}

// TestTaggingSDK tags through the real Lambda client and finds the tagged
// functions through the real Resource Groups Tagging API client, whose
// GetResources has its own rate limit.
func TestTaggingSDK(t *testing.T) {
	ctx := context.Background()
	s := newSimServer(t, tagScenario)
	lc := s.lambda()
	tc := resourcegroupstaggingapi.NewFromConfig(s.awsConfig(), func(o *resourcegroupstaggingapi.Options) { o.BaseEndpoint = aws.String(s.url) })

	_, err := lc.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(fnARN("fn-c")), Tags: map[string]string{"pcautoscaler": "on", "x": "1"}})
	require.NoError(t, err)
	s.clock.Advance(time.Second) // control_plane_rps: 1
	_, err = lc.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(fnARN("fn-c")), TagKeys: []string{"x", "absent"}})
	require.NoError(t, err)
	s.clock.Advance(time.Second)
	tags, err := lc.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(fnARN("fn-c"))})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"pcautoscaler": "on"}, tags.Tags)
	_, err = lc.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(fnARN("fn-c"))})
	var throttled *ltypes.TooManyRequestsException
	require.ErrorAs(t, err, &throttled, "the Lambda bucket is spent for this second")

	// GetResources draws from its own bucket (tagging_rps: 2), page by page.
	p := resourcegroupstaggingapi.NewGetResourcesPaginator(tc, &resourcegroupstaggingapi.GetResourcesInput{
		TagFilters:          []rgtypes.TagFilter{{Key: aws.String("pcautoscaler"), Values: []string{"on"}}},
		ResourceTypeFilters: []string{"lambda:function"},
		ResourcesPerPage:    aws.Int32(2),
	})
	var found []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		for _, m := range page.ResourceTagMappingList {
			found = append(found, aws.ToString(m.ResourceARN))
			require.Equal(t, "pcautoscaler", aws.ToString(m.Tags[0].Key))
			require.Equal(t, "on", aws.ToString(m.Tags[0].Value))
		}
	}
	require.Equal(t, []string{fnARN("fn-a"), fnARN("fn-c"), fnARN("fn-d")}, found)

	_, err = tc.GetResources(ctx, &resourcegroupstaggingapi.GetResourcesInput{})
	var tthrottled *rgtypes.ThrottledException
	require.ErrorAs(t, err, &tthrottled, "two pages spent the tagging bucket for this second")
	s.clock.Advance(time.Second)
	_, err = tc.GetResources(ctx, &resourcegroupstaggingapi.GetResourcesInput{ResourcesPerPage: aws.Int32(500)})
	var invalid *rgtypes.InvalidParameterException
	require.ErrorAs(t, err, &invalid)
	var apiErr smithy.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "ResourcesPerPage must be from 1 to 100, got 500.", apiErr.ErrorMessage())

	calls := s.world.Stats().APICalls
	require.Equal(t, map[string]int64{CodeOK: 2, CodeTagThrottled: 1, CodeTagInvalidParameter: 1}, calls[opGetResources])
	require.Equal(t, map[string]int64{CodeOK: 1, CodeTooManyRequests: 1}, calls[opListTags])
}
