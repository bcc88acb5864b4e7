package aas

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
)

func client(t *testing.T, endpoint string) *applicationautoscaling.Client {
	return applicationautoscaling.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   testenv.LoopbackHTTPClient(t),
	})
}

func register(t *testing.T, c *applicationautoscaling.Client, rid string) {
	t.Helper()
	_, err := c.RegisterScalableTarget(context.Background(), &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: Namespace, ScalableDimension: Dimension, ResourceId: aws.String(rid),
		MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(100),
	})
	require.NoError(t, err)
}

func deregister(t *testing.T, c *applicationautoscaling.Client, rid string) {
	t.Helper()
	_, err := c.DeregisterScalableTarget(context.Background(), &applicationautoscaling.DeregisterScalableTargetInput{
		ServiceNamespace: Namespace, ScalableDimension: Dimension, ResourceId: aws.String(rid),
	})
	require.NoError(t, err)
}

// setter records every managed set the guard applies.
type setter struct {
	mu   sync.Mutex
	sets [][]string
}

func (s *setter) set(ts []controller.Target) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := []string{}
	for _, t := range ts {
		ids = append(ids, t.ID.String())
	}
	s.sets = append(s.sets, ids)
	return nil
}

func (s *setter) last() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sets) == 0 {
		return nil
	}
	return s.sets[len(s.sets)-1]
}

type logLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	RID   string `json:"aas_resource_id"`
}

func lines(t *testing.T, buf *bytes.Buffer) []logLine {
	t.Helper()
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var ll logLine
		require.NoError(t, json.Unmarshal([]byte(l), &ll), l)
		out = append(out, ll)
	}
	return out
}

func target(fn, q string, coexist bool) controller.Target {
	return controller.Target{ID: controller.TargetID{Function: fn, Qualifier: q}, Policy: config.Policy{CoexistWithAAS: coexist}}
}

// TestGuardAgainstMoto: the real SDK client on moto's Application Auto
// Scaling. Each case has its own function names (moto keeps one store).
func TestGuardAgainstMoto(t *testing.T) {
	c := client(t, testenv.MotoEndpoint(t))
	// More registrations than one page (50): the managed ones are found on
	// the second page too.
	for i := range 55 {
		register(t, c, fmt.Sprintf("function:other-%02d:live", i))
	}
	for _, tc := range []struct {
		name       string
		targets    []controller.Target
		registered []string
		wantManage []string
		wantLevels []string // levels of the guard's lines, in order
	}{
		{
			name:       "registered alias refused, the other managed",
			targets:    []controller.Target{target("a-fn", "live", false), target("a-free", "live", false)},
			registered: []string{"function:a-fn:live"},
			wantManage: []string{"a-free:live"},
			wantLevels: []string{"ERROR"},
		},
		{
			name:       "coexist_with_aas: managed, one Warn over two checks",
			targets:    []controller.Target{target("b-fn", "live", true)},
			registered: []string{"function:b-fn:live"},
			wantManage: []string{"b-fn:live"},
			wantLevels: []string{"WARN"},
		},
		{
			name:       "another qualifier of the same function is not ours",
			targets:    []controller.Target{target("c-fn", "live", false)},
			registered: []string{"function:c-fn:canary"},
			wantManage: []string{"c-fn:live"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, rid := range tc.registered {
				register(t, c, rid)
			}
			var buf bytes.Buffer
			s := &setter{}
			g := NewGuard(Options{API: c, Set: s.set, Logger: slog.New(slog.NewJSONHandler(&buf, nil))}, tc.targets)
			for range 2 {
				require.NoError(t, g.Check(context.Background()))
			}
			require.NoError(t, g.SetTargets(tc.targets)) // a reload keeps the refusal
			require.Equal(t, tc.wantManage, s.last())
			var levels []string
			for _, l := range lines(t, &buf) {
				levels = append(levels, l.Level)
				require.Equal(t, tc.registered[0], l.RID)
				if l.Level == "ERROR" {
					require.Contains(t, l.Msg, "deregister-scalable-target")
					require.Contains(t, l.Msg, tc.registered[0])
					require.Contains(t, l.Msg, "coexist_with_aas: true")
				}
			}
			require.Equal(t, tc.wantLevels, levels)
		})
	}

	t.Run("deregistered: managed again at the next check", func(t *testing.T) {
		var buf bytes.Buffer
		s := &setter{}
		ts := []controller.Target{target("d-fn", "live", false)}
		register(t, c, "function:d-fn:live")
		g := NewGuard(Options{API: c, Set: s.set, Logger: slog.New(slog.NewJSONHandler(&buf, nil))}, ts)
		require.NoError(t, g.Check(context.Background()))
		require.Equal(t, []string{}, s.last())
		require.Equal(t, []controller.TargetID{{Function: "d-fn", Qualifier: "live"}}, g.Refused())
		deregister(t, c, "function:d-fn:live")
		require.NoError(t, g.Check(context.Background()))
		require.Equal(t, []string{"d-fn:live"}, s.last())
		require.Empty(t, g.Refused())
		ls := lines(t, &buf)
		require.Len(t, ls, 2)
		require.Equal(t, "INFO", ls[1].Level)
	})
}

// TestGuardAccessDenied: a role without the permission gets one Warn and
// keeps managing everything (awsJson1.1 error through the real client).
func TestGuardAccessDenied(t *testing.T) {
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"AccessDeniedException","message":"User is not authorized to perform: application-autoscaling:DescribeScalableTargets"}`))
	}))
	defer srv.Close()
	var buf bytes.Buffer
	s := &setter{}
	ts := []controller.Target{target("e-fn", "live", false)}
	g := NewGuard(Options{API: client(t, srv.URL), Set: s.set, Logger: slog.New(slog.NewJSONHandler(&buf, nil))}, ts)
	for range 3 {
		err := g.Check(context.Background())
		require.Error(t, err)
		require.True(t, IsAccessDenied(err), err.Error())
		require.Equal(t, awsapi.ClassAccessDenied, awsapi.Classify(err))
	}
	require.NoError(t, g.SetTargets(ts))
	require.Equal(t, []string{"e-fn:live"}, s.last())
	ls := lines(t, &buf)
	require.Len(t, ls, 1, "one Warn, not one per check")
	require.Equal(t, "WARN", ls[0].Level)
	require.Contains(t, ls[0].Msg, "application-autoscaling:DescribeScalableTargets")
}

// TestGuardOff: shadow mode reads nothing and refuses nothing.
func TestGuardOff(t *testing.T) {
	s := &setter{}
	ts := []controller.Target{target("f-fn", "live", false)}
	g := NewGuard(Options{API: nil, Set: s.set, Off: true}, ts)
	require.NoError(t, g.Check(context.Background()))
	require.NoError(t, g.SetTargets(ts))
	require.Equal(t, []string{"f-fn:live"}, s.last())
}

func TestResourceID(t *testing.T) {
	require.Equal(t, "function:checkout:live", ResourceID(controller.TargetID{Function: "checkout", Qualifier: "live"}))
	require.Equal(t, "function:checkout:7", ResourceID(controller.TargetID{Function: "checkout", Qualifier: "7"}))
}

// TestGuardEndpointWithoutAAS: an emulator that does not know the
// operation (the simulator answers InvalidAction) is told once at Info and
// not asked again.
func TestGuardEndpointWithoutAAS(t *testing.T) {
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"InvalidAction","message":"Unknown operation AnyScaleFrontendService.DescribeScalableTargets"}`))
	}))
	defer srv.Close()
	var buf bytes.Buffer
	s := &setter{}
	ts := []controller.Target{target("g-fn", "live", false)}
	g := NewGuard(Options{API: client(t, srv.URL), Set: s.set, Logger: slog.New(slog.NewJSONHandler(&buf, nil))}, ts)
	for range 3 {
		require.NoError(t, g.Check(context.Background()))
	}
	mu.Lock()
	require.Equal(t, 1, calls)
	mu.Unlock()
	ls := lines(t, &buf)
	require.Len(t, ls, 1)
	require.Equal(t, "INFO", ls[0].Level)
}
