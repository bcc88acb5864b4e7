package main

import (
	"path/filepath"
	"testing"

	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
)

// isolateAWS points the SDK's default chain, inside this process, at static
// dummy credentials and nothing else: no shared files, no profile, no
// instance metadata, no endpoint from the environment. Tests using it can't
// run in parallel (t.Setenv).
func isolateAWS(t *testing.T) {
	t.Helper()
	for k, v := range awsTestEnv(t) {
		t.Setenv(k, v)
	}
}

// awsTestEnv is the AWS part of a test's environment (isolateAWS, and the
// child processes of the end-to-end test).
func awsTestEnv(t *testing.T) map[string]string {
	dir := t.TempDir()
	return map[string]string{
		"AWS_ACCESS_KEY_ID":                            "AKIDPCAUTOSCALERTEST",
		"AWS_SECRET_ACCESS_KEY":                        "pcautoscaler-test-secret",
		"AWS_SESSION_TOKEN":                            "",
		"AWS_REGION":                                   "us-east-1",
		"AWS_DEFAULT_REGION":                           "",
		"AWS_PROFILE":                                  "",
		"AWS_CONFIG_FILE":                              filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE":                  filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED":                    "true",
		"AWS_ENDPOINT_URL":                             "",
		"AWS_ENDPOINT_URL_LAMBDA":                      "",
		"AWS_ENDPOINT_URL_CLOUDWATCH":                  "",
		"AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API": "",
		"AWS_ENDPOINT_URL_STS":                         "",
	}
}

// lineBuffer collects a child process's output or a logger's lines.
type lineBuffer = testenv.LineBuffer
