package sim

import (
	"net/http"
	"net/url"
)

// The restJson1 side of the deploy and tag operations: their bodies and
// paths, as the Go SDK v1.114 and botocore 1.43 send them.
//
//	POST   /2015-03-31/functions/{fn}/versions         PublishVersion (201)
//	POST   /2015-03-31/functions/{fn}/aliases          CreateAlias (201)
//	PUT    /2015-03-31/functions/{fn}/aliases/{name}   UpdateAlias
//	DELETE /2015-03-31/functions/{fn}/aliases/{name}   DeleteAlias (204)
//	POST   /2017-03-31/tags/{arn}                      TagResource (204)
//	DELETE /2017-03-31/tags/{arn}?tagKeys=k&tagKeys=…  UntagResource (204)
//	GET    /2017-03-31/tags/{arn}                      ListTags

type lambdaCreateAliasInput struct {
	Name            string              `json:"Name"`
	FunctionVersion string              `json:"FunctionVersion"`
	Description     string              `json:"Description"`
	RoutingConfig   *AliasRoutingConfig `json:"RoutingConfig"`
}

// lambdaUpdateAliasInput: an absent member leaves the alias's as it is;
// "RoutingConfig":{} clears the weights.
type lambdaUpdateAliasInput struct {
	FunctionVersion string              `json:"FunctionVersion"`
	Description     *string             `json:"Description"`
	RoutingConfig   *AliasRoutingConfig `json:"RoutingConfig"`
	RevisionId      string              `json:"RevisionId"`
}

type lambdaPublishVersionInput struct {
	CodeSha256  string `json:"CodeSha256"`
	Description string `json:"Description"`
	RevisionId  string `json:"RevisionId"`
}

// lambdaTags is TagResource's body and ListTags' answer.
type lambdaTags struct {
	Tags map[string]string `json:"Tags"`
}

// deployCall runs CreateAlias, UpdateAlias, DeleteAlias or PublishVersion.
func (h *handler) deployCall(w http.ResponseWriter, r *http.Request, req *lambdaRequest, fn string) (int, any, *wireError) {
	switch req.op {
	case opCreateAlias:
		var in lambdaCreateAliasInput
		if e := decodeLambdaBody(w, r, &in); e != nil {
			return 0, nil, e
		}
		v, err := h.world.createAliasAs(req.caller, fn, CreateAliasInput(in))
		return lambdaResult(http.StatusCreated, v, err)
	case opUpdateAlias:
		var in lambdaUpdateAliasInput
		if e := decodeLambdaBody(w, r, &in); e != nil {
			return 0, nil, e
		}
		v, err := h.world.updateAliasAs(req.caller, fn, req.alias, UpdateAliasInput(in))
		return lambdaResult(http.StatusOK, v, err)
	case opDeleteAlias:
		return lambdaResult(http.StatusNoContent, nil, h.world.deleteAliasAs(req.caller, fn, req.alias))
	default: // opPublishVersion
		var in lambdaPublishVersionInput
		if e := decodeLambdaBody(w, r, &in); e != nil {
			return 0, nil, e
		}
		v, err := h.world.publishVersionAs(req.caller, fn, PublishVersionInput(in))
		return lambdaResult(http.StatusCreated, v, err)
	}
}

func routeTags(method, resource string) lambdaRequest {
	op := map[string]string{http.MethodPost: opTagResource, http.MethodDelete: opUntagResource, http.MethodGet: opListTags}[method]
	if op == "" {
		return lambdaRequest{}
	}
	return lambdaRequest{op: op, resource: resource}
}

func isTagOp(op string) bool {
	return op == opTagResource || op == opUntagResource || op == opListTags
}

// tagCall runs TagResource, UntagResource or ListTags on {Resource}.
func (h *handler) tagCall(w http.ResponseWriter, r *http.Request, req *lambdaRequest, q url.Values) (int, any, *wireError) {
	switch req.op {
	case opTagResource:
		var in lambdaTags
		if e := decodeLambdaBody(w, r, &in); e != nil {
			return 0, nil, e
		}
		return lambdaResult(http.StatusNoContent, nil, h.world.TagResource(req.resource, in.Tags))
	case opUntagResource:
		return lambdaResult(http.StatusNoContent, nil, h.world.UntagResource(req.resource, q["tagKeys"]))
	default: // opListTags
		tags, err := h.world.ListTags(req.resource)
		return lambdaResult(http.StatusOK, lambdaTags{Tags: tags}, err)
	}
}
