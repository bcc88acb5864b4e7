package controller

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTickErrBounded: a few errors in full; many are the first few and the
// rest counted by class, whatever their number, and each still reachable.
func TestTickErrBounded(t *testing.T) {
	require.NoError(t, tickErr(nil))
	few := []error{errors.New("a"), errors.New("b")}
	require.Equal(t, "a\nb", tickErr(few).Error())

	var many []error
	for i := range 10000 {
		class := ClassServer
		if i%1000 == 0 {
			class = ClassThrottled
		}
		many = append(many, fmt.Errorf("fn-%d:live: %w", i, apiErr{class: class}))
	}
	err := tickErr(many)
	require.Equal(t, "fn-0:live: fake throttled\nfn-1:live: fake server\nfn-2:live: fake server\n"+
		"and 9997 more (server 9988, throttled 9)", err.Error())
	require.Less(t, len(err.Error()), 200)
	require.Equal(t, 3, strings.Count(err.Error(), "\n"))
	var ce ClassifiedError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, many[9999])
}
