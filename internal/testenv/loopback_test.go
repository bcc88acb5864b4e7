package testenv

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The loopback-only transport refuses any other address before dialling
// (nothing leaves the machine), and serves loopback as usual.
func TestLoopbackTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	var refused []string
	c := &http.Client{Transport: loopbackTransport(func(addr string) { refused = append(refused, addr) })}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	// The instance metadata address, a documentation address, a name.
	for _, u := range []string{"http://169.254.169.254/latest/api/token", "http://192.0.2.1/", "http://example.invalid/"} {
		if _, err := c.Get(u); err == nil {
			t.Errorf("%s: dialled", u)
		}
	}
	want := []string{"169.254.169.254:80", "192.0.2.1:80", "example.invalid:80"}
	if len(refused) != len(want) {
		t.Fatalf("refused %v, want %v", refused, want)
	}
	for i := range want {
		if refused[i] != want[i] {
			t.Errorf("refused %v, want %v", refused, want)
		}
	}
}
