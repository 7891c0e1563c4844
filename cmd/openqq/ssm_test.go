package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// fakeSSM answers GetParametersByPath like SSM's JSON protocol, in pages of
// one parameter so the paginator is exercised.
func fakeSSM(t *testing.T, params map[string]string, status int) *httptest.Server {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "AmazonSSM.GetParametersByPath" {
			t.Errorf("target %q", got)
		}
		if !strings.Contains(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			t.Error("request not signed")
		}
		var in struct {
			Path           string
			Recursive      bool
			WithDecryption bool
			NextToken      string
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Error(err)
		}
		if in.Path != "/openqq/relay" || in.Recursive || !in.WithDecryption {
			t.Errorf("input %+v", in)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if status != http.StatusOK {
			w.WriteHeader(status)
			w.Write([]byte(`{"__type":"AccessDeniedException","message":"denied"}`))
			return
		}
		i := 0
		if in.NextToken != "" {
			i = int(in.NextToken[0] - '0')
		}
		out := map[string]any{"Parameters": []any{}}
		if i < len(names) {
			out["Parameters"] = []any{map[string]any{"Name": "/openqq/relay/" + names[i], "Value": params[names[i]], "Type": "SecureString"}}
			if i+1 < len(names) {
				out["NextToken"] = string(rune('0' + i + 1))
			}
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func awsTestEnv(t *testing.T, endpoint string) {
	t.Setenv("OPENQQ_SSM_PATH", "/openqq/relay")
	t.Setenv("AWS_ENDPOINT_URL_SSM", endpoint)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestLoadSSMParametersSetsUnsetVariables(t *testing.T) {
	srv := fakeSSM(t, map[string]string{
		"OPENQQ_API_TOKENS": "s3cret",
		"OPENQQ_REDIS_URL":  "rediss://from-ssm:6379",
		"OPENQQ_LISTEN":     "127.0.0.1:7000",
		"UNRELATED":         "ignored",
	}, http.StatusOK)
	awsTestEnv(t, srv.URL)
	t.Setenv("OPENQQ_API_TOKENS", "")
	t.Setenv("OPENQQ_REDIS_URL", "")
	t.Setenv("OPENQQ_LISTEN", "127.0.0.1:5555") // the environment wins
	t.Setenv("UNRELATED", "")
	if err := loadSSMParameters(t.Context()); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"OPENQQ_API_TOKENS": "s3cret",
		"OPENQQ_REDIS_URL":  "rediss://from-ssm:6379",
		"OPENQQ_LISTEN":     "127.0.0.1:5555",
		"UNRELATED":         "",
	} {
		if got := os.Getenv(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestLoadSSMParametersFailsTheStart(t *testing.T) {
	srv := fakeSSM(t, nil, http.StatusBadRequest)
	awsTestEnv(t, srv.URL)
	err := loadSSMParameters(t.Context())
	if err == nil || !strings.Contains(err.Error(), "/openqq/relay") {
		t.Fatalf("err = %v, want an error naming the path", err)
	}
}

func TestLoadSSMParametersUnsetReadsNothing(t *testing.T) {
	t.Setenv("OPENQQ_SSM_PATH", "")
	t.Setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:1")
	if err := loadSSMParameters(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestProbeAddr(t *testing.T) {
	for in, want := range map[string]string{
		"":               "127.0.0.1:9090",
		"0.0.0.0:9000":   "127.0.0.1:9000",
		":9000":          "127.0.0.1:9000",
		"[::]:9000":      "127.0.0.1:9000",
		"10.1.2.3:9000":  "10.1.2.3:9000",
		"localhost:9000": "localhost:9000",
	} {
		if got := probeAddr(in); got != want {
			t.Errorf("probeAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
