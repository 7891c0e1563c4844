package infra

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestHealthcheckSubcommand pins the contract of `openqq healthcheck
// [URL]`, which the image's HEALTHCHECK and the compose services run (the
// image has no shell, curl or wget): GET the URL, or http://<admin
// listener>/healthz built from OPENQQ_ADMIN_LISTEN with a wildcard host
// replaced by 127.0.0.1; exit 0 on a 2xx answer, 1 otherwise.
func TestHealthcheckSubcommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := openqqBinary(t)

	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	t.Cleanup(healthy.Close)
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "redis down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(sick.Close)
	_, healthyPort, _ := strings.Cut(strings.TrimPrefix(healthy.URL, "http://"), ":")
	closed := "127.0.0.1:" + strconv.Itoa(freePort(t))

	for _, c := range []struct {
		name string
		args []string
		env  []string
		code int
	}{
		{"explicit URL, 200", []string{healthy.URL + "/healthz"}, nil, 0},
		{"explicit URL, 503", []string{sick.URL + "/healthz"}, nil, 1},
		{"explicit URL, wrong path", []string{healthy.URL + "/nope"}, nil, 1},
		{"nothing listening", []string{"http://" + closed + "/healthz"}, nil, 1},
		{"admin listener", nil, []string{"OPENQQ_ADMIN_LISTEN=127.0.0.1:" + healthyPort}, 0},
		{"wildcard admin listener", nil, []string{"OPENQQ_ADMIN_LISTEN=0.0.0.0:" + healthyPort}, 0},
		{"port-only admin listener", nil, []string{"OPENQQ_ADMIN_LISTEN=:" + healthyPort}, 0},
		{"admin listener down", nil, []string{"OPENQQ_ADMIN_LISTEN=" + closed}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, "", append(cleanEnv(), c.env...), bin, append([]string{"healthcheck"}, c.args...)...)
			if got := exitCode(err); got != c.code {
				t.Errorf("exit %d, want %d\n%s", got, c.code, out)
			}
		})
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}
