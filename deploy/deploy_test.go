// Package deploy_test checks the deployment files against the code: ports,
// probe paths, user and the IAM actions must agree, or CI fails.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/telemetry"
)

const nonRootUID = 65532 // distroless "nonroot"

func defaultPort(t *testing.T) int {
	_, port, err := net.SplitHostPort(config.Default().Listen)
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return p
}

// requireServed checks the daemon's telemetry handler answers 200 on path, so
// a probe or scrape path in a manifest can't name something the code lacks.
func requireServed(t *testing.T, path string) {
	t.Helper()
	h := telemetry.Handler(prometheus.NewRegistry(), func() error { return nil }, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	require.Equal(t, http.StatusOK, rec.Code, "GET %s", path)
}

func readStrict(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(data, into), path)
}

func TestKubernetesDeployment(t *testing.T) {
	var d appsv1.Deployment
	readStrict(t, "kubernetes/deployment.yaml", &d)
	require.Equal(t, "Deployment", d.Kind)
	require.EqualValues(t, 1, *d.Spec.Replicas, "two daemons would fight over one config")

	pod := d.Spec.Template.Spec
	require.Equal(t, "pcautoscaler", pod.ServiceAccountName)
	require.True(t, *pod.SecurityContext.RunAsNonRoot)
	require.EqualValues(t, nonRootUID, *pod.SecurityContext.RunAsUser)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.Len(t, c.Ports, 1)
	require.EqualValues(t, defaultPort(t), c.Ports[0].ContainerPort)
	requireServed(t, c.LivenessProbe.HTTPGet.Path)
	requireServed(t, c.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, c.Ports[0].Name, c.LivenessProbe.HTTPGet.Port.String())

	sc := c.SecurityContext
	require.True(t, *sc.ReadOnlyRootFilesystem)
	require.False(t, *sc.AllowPrivilegeEscalation)
	require.True(t, *sc.RunAsNonRoot)
	require.EqualValues(t, nonRootUID, *sc.RunAsUser)
	require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	require.NotNil(t, c.Resources.Requests.Cpu())
	require.False(t, c.Resources.Limits.Memory().IsZero())
	require.Contains(t, strings.Join(c.Args, " "), "--config /etc/pcautoscaler/config.yaml")
}

func TestKubernetesOtherObjects(t *testing.T) {
	var sa corev1.ServiceAccount
	readStrict(t, "kubernetes/serviceaccount.yaml", &sa)
	require.Contains(t, sa.Annotations, "eks.amazonaws.com/role-arn", "IRSA annotation")

	var svc corev1.Service
	readStrict(t, "kubernetes/service.yaml", &svc)
	require.Len(t, svc.Spec.Ports, 1)
	require.EqualValues(t, defaultPort(t), svc.Spec.Ports[0].Port)

	var ns corev1.Namespace
	readStrict(t, "kubernetes/namespace.yaml", &ns)

	// No CRD types are vendored for the ServiceMonitor; check the fields that
	// must agree with the Service and the daemon.
	var sm struct {
		Spec struct {
			Endpoints []struct {
				Port, Path string
			} `json:"endpoints"`
		} `json:"spec"`
	}
	data, err := os.ReadFile("kubernetes/servicemonitor.yaml")
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &sm))
	require.Equal(t, svc.Spec.Ports[0].Name, sm.Spec.Endpoints[0].Port)
	requireServed(t, sm.Spec.Endpoints[0].Path)
}

func TestKustomization(t *testing.T) {
	var k struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Namespace  string `json:"namespace"`
		Labels     []struct {
			Pairs            map[string]string `json:"pairs"`
			IncludeSelectors bool              `json:"includeSelectors"`
		} `json:"labels"`
		Resources          []string `json:"resources"`
		ConfigMapGenerator []struct {
			Name  string   `json:"name"`
			Files []string `json:"files"`
		} `json:"configMapGenerator"`
		Images []struct {
			Name, NewName, NewTag string
		} `json:"images"`
	}
	readStrict(t, "kubernetes/kustomization.yaml", &k)
	for _, r := range k.Resources {
		require.FileExists(t, filepath.Join("kubernetes", r))
	}
	require.Len(t, k.ConfigMapGenerator, 1)
	for _, f := range k.ConfigMapGenerator[0].Files {
		cfg, err := config.Load(filepath.Join("kubernetes", f))
		require.NoError(t, err, "the shipped config must validate")
		require.NotEmpty(t, cfg.Targets)
	}
	var d appsv1.Deployment
	readStrict(t, "kubernetes/deployment.yaml", &d)
	require.Equal(t, k.ConfigMapGenerator[0].Name, d.Spec.Template.Spec.Volumes[0].ConfigMap.Name)
}

func TestECSTaskDefinition(t *testing.T) {
	type container struct {
		Name                   string   `json:"name"`
		Image                  string   `json:"image"`
		Essential              bool     `json:"essential"`
		User                   string   `json:"user"`
		ReadonlyRootFilesystem bool     `json:"readonlyRootFilesystem"`
		Command                []string `json:"command"`
		Environment            []struct{ Name, Value string }
		Secrets                []struct{ Name, ValueFrom string }
		PortMappings           []struct {
			Name          string `json:"name"`
			ContainerPort int    `json:"containerPort"`
			Protocol      string `json:"protocol"`
		} `json:"portMappings"`
		HealthCheck struct {
			Command                                 []string
			Interval, Timeout, Retries, StartPeriod int
		} `json:"healthCheck"`
		StopTimeout     int `json:"stopTimeout"`
		LinuxParameters struct {
			Capabilities struct {
				Drop []string `json:"drop"`
			} `json:"capabilities"`
			InitProcessEnabled bool `json:"initProcessEnabled"`
		} `json:"linuxParameters"`
		LogConfiguration struct {
			LogDriver string            `json:"logDriver"`
			Options   map[string]string `json:"options"`
		} `json:"logConfiguration"`
	}
	var td struct {
		Family                  string   `json:"family"`
		RequiresCompatibilities []string `json:"requiresCompatibilities"`
		NetworkMode             string   `json:"networkMode"`
		CPU                     string   `json:"cpu"`
		Memory                  string   `json:"memory"`
		RuntimePlatform         struct {
			OperatingSystemFamily string `json:"operatingSystemFamily"`
			CPUArchitecture       string `json:"cpuArchitecture"`
		} `json:"runtimePlatform"`
		TaskRoleArn          string      `json:"taskRoleArn"`
		ExecutionRoleArn     string      `json:"executionRoleArn"`
		ContainerDefinitions []container `json:"containerDefinitions"`
	}
	data, err := os.ReadFile("ecs/task-definition.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&td))
	require.Equal(t, []string{"FARGATE"}, td.RequiresCompatibilities)
	require.NotEmpty(t, td.TaskRoleArn)
	require.Len(t, td.ContainerDefinitions, 1)
	c := td.ContainerDefinitions[0]
	require.Equal(t, strconv.Itoa(nonRootUID)+":"+strconv.Itoa(nonRootUID), c.User)
	require.True(t, c.ReadonlyRootFilesystem)
	require.Equal(t, defaultPort(t), c.PortMappings[0].ContainerPort)
	hc := strings.Join(c.HealthCheck.Command, " ")
	require.Contains(t, hc, "healthcheck")
	require.Contains(t, hc, ":"+strconv.Itoa(defaultPort(t))+"/healthz")
	requireServed(t, "/healthz")
	require.Equal(t, "awslogs", c.LogConfiguration.LogDriver)
	require.Equal(t, []string{"ALL"}, c.LinuxParameters.Capabilities.Drop)
	require.Equal(t, []string{"--config-env", c.Secrets[0].Name}, c.Command)
}

// TestIAMPolicyMatchesCode derives the actions from awsapi's call registry:
// a new AWS call without a policy change fails here.
func TestIAMPolicyMatchesCode(t *testing.T) {
	var pol struct {
		Version   string
		Statement []struct {
			Sid       string
			Effect    string
			Action    []string
			Resource  any
			Condition map[string]map[string][]string
		}
	}
	data, err := os.ReadFile("iam/policy.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&pol))
	require.Equal(t, "2012-10-17", pol.Version)

	// A scoped action's resource is its service's ARN: a managed function's
	// for lambda:*, the lease table's for dynamodb:* (ha.backend dynamodb).
	arnOf := map[string]*regexp.Regexp{
		"lambda":   regexp.MustCompile(`^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:\*)?$`),
		"dynamodb": regexp.MustCompile(`^arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255}$`),
	}
	inPolicy := map[string]bool{} // action → scoped to its service's resource ARNs
	for _, st := range pol.Statement {
		require.Equal(t, "Allow", st.Effect)
		var res []string
		switch r := st.Resource.(type) {
		case string:
			res = []string{r}
		case []any:
			for _, x := range r {
				res = append(res, x.(string))
			}
		}
		scoped := !slices.Contains(res, "*")
		if scoped {
			for _, a := range st.Action {
				service, _, _ := strings.Cut(a, ":")
				require.Contains(t, arnOf, service, "statement %s: action %s", st.Sid, a)
				for _, r := range res {
					require.Regexp(t, arnOf[service], r, "statement %s: action %s", st.Sid, a)
				}
			}
		} else {
			require.Equal(t, []string{"*"}, res, "statement %s mixes * with ARNs", st.Sid)
		}
		for _, a := range st.Action {
			_, dup := inPolicy[a]
			require.False(t, dup, "action %s granted twice", a)
			inPolicy[a] = scoped
		}
	}

	var want, got []string
	for _, a := range awsapi.Actions() {
		want = append(want, a.Name)
		scoped, ok := inPolicy[a.Name]
		require.True(t, ok, "the code calls %s but deploy/iam/policy.json does not allow it", a.Name)
		require.Equal(t, a.Scopable, scoped, "%s: scoped to resource ARNs exactly when IAM allows it", a.Name)
	}
	for a := range inPolicy {
		got = append(got, a)
	}
	sort.Strings(want)
	sort.Strings(got)
	require.NotEmpty(t, want, "awsapi.Actions() is empty")
	require.Equal(t, want, got, "policy grants exactly what the code calls")
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	df := string(data)
	require.Contains(t, df, "EXPOSE "+strconv.Itoa(defaultPort(t)))
	require.Contains(t, df, "USER "+strconv.Itoa(nonRootUID)+":"+strconv.Itoa(nonRootUID))
	require.Contains(t, df, "distroless/static")
	require.Regexp(t, `(?m)^RUN .*\./scripts/build\.sh$`, df, "the image builds with the same script CI runs")
	require.Regexp(t, `(?m)^ENTRYPOINT \["/usr/local/bin/pcautoscaler", "run"\]$`, df)
	script, err := os.ReadFile("../scripts/build.sh")
	require.NoError(t, err)
	for _, s := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version="} {
		require.Contains(t, string(script), s)
	}
}
