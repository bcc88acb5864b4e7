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
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/pcautoscaler/pcautoscaler/aas"
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
	// Two replicas, one writer (leader election through a Lease): a rollout
	// surges a follower first, and the replicas prefer different nodes.
	require.EqualValues(t, 2, *d.Spec.Replicas)
	require.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
	require.Equal(t, 0, d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue())
	require.Equal(t, 1, d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue())
	anti := d.Spec.Template.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	require.Len(t, anti, 1)
	require.Equal(t, "kubernetes.io/hostname", anti[0].PodAffinityTerm.TopologyKey)
	require.Equal(t, d.Spec.Selector.MatchLabels, anti[0].PodAffinityTerm.LabelSelector.MatchLabels)

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

// TestKubernetesLeaderElection checks the pieces the Lease needs agree:
// the shipped config elects through a Lease in the kustomization's
// namespace, the Role grants exactly what client-go calls on it, the
// RoleBinding gives it to the daemon's service account, and a PDB keeps a
// replica through voluntary disruptions.
func TestKubernetesLeaderElection(t *testing.T) {
	var k struct {
		Namespace string   `json:"namespace"`
		Resources []string `json:"resources"`
	}
	data, err := os.ReadFile("kubernetes/kustomization.yaml")
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &k))
	for _, r := range []string{"role.yaml", "rolebinding.yaml", "poddisruptionbudget.yaml"} {
		require.Contains(t, k.Resources, r)
	}
	cfg, err := config.Load("kubernetes/config.yaml")
	require.NoError(t, err)
	require.Equal(t, config.HAKube, cfg.HA.Backend)
	require.Equal(t, k.Namespace, cfg.HA.Kubernetes.Namespace, "the Lease lives where the Role grants it")

	var role rbacv1.Role
	readStrict(t, "kubernetes/role.yaml", &role)
	verbs := map[string]bool{}
	for _, r := range role.Rules {
		require.Equal(t, []string{"coordination.k8s.io"}, r.APIGroups)
		require.Equal(t, []string{"leases"}, r.Resources)
		for _, v := range r.Verbs {
			verbs[v] = true
			if v != "create" { // RBAC cannot scope create to a name
				require.Equal(t, []string{cfg.HA.Kubernetes.Name}, r.ResourceNames, "verb %s", v)
			}
		}
	}
	require.Equal(t, map[string]bool{"get": true, "create": true, "update": true}, verbs)

	var rb rbacv1.RoleBinding
	readStrict(t, "kubernetes/rolebinding.yaml", &rb)
	require.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name}, rb.RoleRef)
	var d appsv1.Deployment
	readStrict(t, "kubernetes/deployment.yaml", &d)
	require.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: d.Spec.Template.Spec.ServiceAccountName, Namespace: k.Namespace}}, rb.Subjects)

	var pdb policyv1.PodDisruptionBudget
	readStrict(t, "kubernetes/poddisruptionbudget.yaml", &pdb)
	require.Equal(t, 1, pdb.Spec.MinAvailable.IntValue())
	require.Less(t, pdb.Spec.MinAvailable.IntValue(), int(*d.Spec.Replicas))
	require.Equal(t, d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels)
	// In-flight writes (up to 30 s) finish before the Lease is released.
	require.GreaterOrEqual(t, *d.Spec.Template.Spec.TerminationGracePeriodSeconds, int64(35))
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

// TestECSLeaderElection: two tasks, the DynamoDB backend on the table
// lease-table.yaml defines (partition key LeaseKey, S), which is the table
// and item the IAM policy grants.
func TestECSLeaderElection(t *testing.T) {
	var svc struct {
		ServiceName             string `json:"serviceName"`
		Cluster                 string `json:"cluster"`
		TaskDefinition          string `json:"taskDefinition"`
		DesiredCount            int    `json:"desiredCount"`
		LaunchType              string `json:"launchType"`
		DeploymentConfiguration struct {
			MaximumPercent           int `json:"maximumPercent"`
			MinimumHealthyPercent    int `json:"minimumHealthyPercent"`
			DeploymentCircuitBreaker struct {
				Enable   bool `json:"enable"`
				Rollback bool `json:"rollback"`
			} `json:"deploymentCircuitBreaker"`
		} `json:"deploymentConfiguration"`
		NetworkConfiguration struct {
			AwsvpcConfiguration struct {
				Subnets        []string `json:"subnets"`
				SecurityGroups []string `json:"securityGroups"`
				AssignPublicIP string   `json:"assignPublicIp"`
			} `json:"awsvpcConfiguration"`
		} `json:"networkConfiguration"`
		EnableExecuteCommand bool   `json:"enableExecuteCommand"`
		PropagateTags        string `json:"propagateTags"`
	}
	data, err := os.ReadFile("ecs/service.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&svc))
	require.Equal(t, 2, svc.DesiredCount)
	require.Equal(t, "FARGATE", svc.LaunchType)
	require.Equal(t, "pcautoscaler", svc.TaskDefinition)
	require.GreaterOrEqual(t, svc.DeploymentConfiguration.MaximumPercent, 150, "a rollout starts the new task before stopping the old")

	cfg, err := config.Load("ecs/config.yaml")
	require.NoError(t, err)
	require.Equal(t, config.HADynamo, cfg.HA.Backend)

	var cfn struct {
		AWSTemplateFormatVersion string `json:"AWSTemplateFormatVersion"`
		Description              string `json:"Description"`
		Resources                map[string]struct {
			Type       string `json:"Type"`
			Properties struct {
				TableName            string `json:"TableName"`
				BillingMode          string `json:"BillingMode"`
				AttributeDefinitions []struct {
					AttributeName, AttributeType string
				} `json:"AttributeDefinitions"`
				KeySchema []struct {
					AttributeName, KeyType string
				} `json:"KeySchema"`
				PointInTimeRecoverySpecification struct {
					PointInTimeRecoveryEnabled bool `json:"PointInTimeRecoveryEnabled"`
				} `json:"PointInTimeRecoverySpecification"`
				SSESpecification struct {
					SSEEnabled bool `json:"SSEEnabled"`
				} `json:"SSESpecification"`
			} `json:"Properties"`
		} `json:"Resources"`
		Outputs map[string]any `json:"Outputs"`
	}
	readStrict(t, "ecs/lease-table.yaml", &cfn)
	table := cfn.Resources["LeaseTable"]
	require.Equal(t, "AWS::DynamoDB::Table", table.Type)
	require.Equal(t, cfg.HA.DynamoDB.Table, table.Properties.TableName)
	require.Len(t, table.Properties.KeySchema, 1)
	require.Equal(t, "LeaseKey", table.Properties.KeySchema[0].AttributeName)
	require.Equal(t, "HASH", table.Properties.KeySchema[0].KeyType)
	require.Len(t, table.Properties.AttributeDefinitions, 1)
	require.Equal(t, "LeaseKey", table.Properties.AttributeDefinitions[0].AttributeName)
	require.Equal(t, "S", table.Properties.AttributeDefinitions[0].AttributeType)

	// The policy's table and item are the config's.
	var pol struct {
		Statement []struct {
			Sid       string
			Resource  any
			Condition map[string]map[string][]string
		}
	}
	data, err = os.ReadFile("iam/policy.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &pol))
	var found bool
	for _, st := range pol.Statement {
		r, ok := st.Resource.(string)
		if !ok || !strings.Contains(r, ":dynamodb:") {
			continue
		}
		found = true
		require.True(t, strings.HasSuffix(r, ":table/"+cfg.HA.DynamoDB.Table), r)
		require.Equal(t, []string{cfg.HA.DynamoDB.Key}, st.Condition["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"])
	}
	require.True(t, found, "no DynamoDB statement in the IAM policy")
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
		"sts":      regexp.MustCompile(`^arn:aws:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]+$`), // accounts[].role_arn
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
	// awsapi's calls, and the Application Auto Scaling check's (aas).
	for _, a := range append(awsapi.Actions(), aas.Actions()...) {
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
	require.Regexp(t, `(?m)^RUN .*REVISION=\$REVISION .*\./scripts/build\.sh$`, df, "the REVISION build arg reaches build.sh (no .git in the context)")
	require.Regexp(t, `(?m)^ENTRYPOINT \["/usr/local/bin/pcautoscaler", "run"\]$`, df)
	script, err := os.ReadFile("../scripts/build.sh")
	require.NoError(t, err)
	for _, s := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version="} {
		require.Contains(t, string(script), s)
	}
}

// TestIAMTrustPolicy: the trust policy each accounts[] role carries lets the
// daemon's identity assume it, with the external ID the config sends.
func TestIAMTrustPolicy(t *testing.T) {
	var pol struct {
		Version   string
		Statement []struct {
			Sid       string
			Effect    string
			Principal struct{ AWS string }
			Action    string
			Condition map[string]map[string]string
		}
	}
	data, err := os.ReadFile("iam/trust-policy.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&pol))
	require.Equal(t, "2012-10-17", pol.Version)
	require.Len(t, pol.Statement, 1)
	st := pol.Statement[0]
	require.Equal(t, "Allow", st.Effect)
	require.Equal(t, "sts:AssumeRole", st.Action)
	require.Regexp(t, `^arn:aws:iam::\d{12}:(role/[A-Za-z0-9_+=,.@/-]+|root)$`, st.Principal.AWS)
	require.NotEmpty(t, st.Condition["StringEquals"]["sts:ExternalId"], "the external ID guards against the confused deputy")
}
