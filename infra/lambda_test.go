package infra

import (
	"archive/zip"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/relay/lambda/lambdatest"
	"github.com/openqq-relay/openqq/store/storetest"
)

var (
	snapshotOnce sync.Once
	snapshotDir  string
)

// sourceSnapshot copies the Go sources and build-lambda.sh once per run, so
// that builds compared with each other see the same files even while the
// checkout changes.
func sourceSnapshot(t *testing.T) string {
	t.Helper()
	snapshotOnce.Do(func() {
		dir := filepath.Join(scratch, "src")
		copyContext(t, contextMatcher(t), dir)
		if err := os.MkdirAll(filepath.Join(dir, "infra"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "infra", "build-lambda.sh"), readFile(t, "infra/build-lambda.sh"), 0o755); err != nil {
			t.Fatal(err)
		}
		snapshotDir = dir
	})
	if snapshotDir == "" {
		t.Fatal("no source snapshot")
	}
	return snapshotDir
}

// buildLambda runs build-lambda.sh of the source snapshot with the given
// PATH (empty: unchanged) and extra environment, and returns the zip's path.
func buildLambda(t *testing.T, path string, extra ...string) string {
	t.Helper()
	src := sourceSnapshot(t)
	out := filepath.Join(t.TempDir(), "nested", "relay.zip")
	env := append(cleanEnv(), extra...)
	if path != "" {
		env = append(env, "PATH="+path)
	}
	if log, err := run(t, src, env, "bash", filepath.Join(src, "infra", "build-lambda.sh"), out); err != nil {
		t.Fatalf("build-lambda.sh: %v\n%s", err, log)
	}
	return out
}

// unzipBootstrap checks the package holds exactly one executable named
// bootstrap and extracts it.
func unzipBootstrap(t *testing.T, zipPath string) string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("zip holds %q, want only bootstrap", names)
	}
	f := zr.File[0]
	if m := f.Mode(); !m.IsRegular() || m.Perm()&0o111 != 0o111 {
		t.Errorf("bootstrap mode %v: Lambda needs an executable for everyone", m)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	dst := filepath.Join(t.TempDir(), "bootstrap")
	w, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, f.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, rc); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func elfMachine(t *testing.T, p string) elf.Machine {
	t.Helper()
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Machine
}

func TestBuildLambdaRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	zipPath := buildLambda(t, "", "GOARCH=amd64")
	bootstrap := unzipBootstrap(t, zipPath)
	if m := elfMachine(t, bootstrap); m != elf.EM_X86_64 {
		t.Fatalf("GOARCH=amd64 built %v", m)
	}
	assertStatic(t, bootstrap)
	if runtimeArch() != "amd64" {
		t.Skip("built for amd64; this machine cannot run it")
	}
	out, err := run(t, "", nil, bootstrap, "version")
	if err != nil || strings.TrimSpace(out) != "openqq "+openqq.Version {
		t.Errorf("bootstrap version = %q, %v; want openqq %s", out, err, openqq.Version)
	}

	// Same sources, same bytes: terraform redeploys only on a real change.
	if again := buildLambda(t, "", "GOARCH=amd64"); sha256File(t, again) != sha256File(t, zipPath) {
		t.Error("two builds of the same sources differ")
	}
}

// TestBuildLambdaWithoutZip runs the script on a PATH that has only the
// tools it needs, without zip(1): the Go fallback must give a package with
// the same bootstrap.
func TestBuildLambdaWithoutZip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := t.TempDir()
	for _, tool := range []string{"bash", "go", "mktemp", "rm", "mkdir", "chmod", "touch", "dirname", "basename", "cat"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	withZip := unzipBootstrap(t, buildLambda(t, "", "GOARCH=amd64"))
	zipPath := buildLambda(t, bin, "GOARCH=amd64")
	without := unzipBootstrap(t, zipPath)
	if sha256File(t, without) != sha256File(t, withZip) {
		t.Error("the Go fallback packed a different bootstrap")
	}
	if again := buildLambda(t, bin, "GOARCH=amd64"); sha256File(t, again) != sha256File(t, zipPath) {
		t.Error("the Go fallback is not reproducible")
	}
}

// TestBuildLambdaDefaultsToArm64 builds the production package: arm64, for
// provided.al2023 on Graviton.
func TestBuildLambdaDefaultsToArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the binary; skipped with -short")
	}
	bootstrap := unzipBootstrap(t, buildLambda(t, ""))
	if m := elfMachine(t, bootstrap); m != elf.EM_AARCH64 {
		t.Errorf("default build is %v, want arm64", m)
	}
	assertStatic(t, bootstrap)
}

func TestBuildLambdaRejects(t *testing.T) {
	script := filepath.Join(root, "infra", "build-lambda.sh")
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no output", nil, nil, "usage:"},
		{"not a zip", nil, []string{"out.tar"}, "must end in .zip"},
		{"foreign arch", []string{"GOARCH=386"}, []string{filepath.Join(t.TempDir(), "x.zip")}, "GOARCH must be arm64 or amd64"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, root, append(cleanEnv(), c.env...), "bash", append([]string{script}, c.args...)...)
			var ee *exec.ExitError
			if !asExit(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, c.want) {
				t.Errorf("got %v %q, want exit 2 saying %q", err, out, c.want)
			}
		})
	}
}

// TestBuildLambdaBootstrapServesTheRelay runs the package's bootstrap as
// Lambda runs it (no arguments, AWS_LAMBDA_RUNTIME_API set) under the Runtime
// API emulator, on the store's Redis (OPENQQ_TEST_REDIS_URL, else an
// embedded one) with contacts saved, and invokes it with the two events
// that reach it: a Function URL's and an HTTP API's (payload 2.0, the
// $default route and stage of terraform/api.tf).
func TestBuildLambdaBootstrapServesTheRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	if runtimeArch() != "amd64" {
		t.Skip("the package is built for amd64; this machine cannot run it")
	}
	bootstrap := unzipBootstrap(t, buildLambda(t, "", "GOARCH=amd64"))

	url := storetest.URL(t)
	db, acct := storetest.Open(t, url)
	friends := []openqq.Friend{{ID: 2, UID: 20, Name: "alice"}, {ID: 3, UID: 30, Name: "bob"}}
	if err := db.SaveContacts(t.Context(), acct, &openqq.Contacts{User: openqq.User{ID: 1, UID: 10, Name: "me"}, Friends: friends}); err != nil {
		t.Fatal(err)
	}

	rt := lambdatest.NewRuntime(t)
	rt.StartBinary(bootstrap, "OPENQQ_REDIS_URL="+url, "OPENQQ_ACCOUNT="+acct,
		"OPENQQ_API_TOKENS=s3cret,viewer:ro", "OPENQQ_LOG_LEVEL=warn")
	invoke := map[string]func(t *testing.T, path, token string) (int, []byte){
		"function URL": func(t *testing.T, path, token string) (int, []byte) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://function.lambda-url.test"+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := rt.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			return res.StatusCode, b
		},
		"HTTP API": func(t *testing.T, path, token string) (int, []byte) {
			res, err := rt.InvokeHTTP(t.Context(), httpAPIEvent(path, token))
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(res.Body)
			if res.IsBase64Encoded {
				if body, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
					t.Fatal(err)
				}
			}
			return res.StatusCode, body
		},
	}
	for name, call := range invoke {
		t.Run(name, func(t *testing.T) {
			for _, token := range []string{"s3cret", "viewer"} {
				status, body := call(t, "/openqq/get_friend_info", token)
				var got []struct {
					ID, UID, Name string
				}
				if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || len(got) != len(friends) {
					t.Fatalf("get_friend_info with %s: HTTP %d %s", token, status, body)
				}
				for i, f := range friends {
					if got[i].ID != fmt.Sprint(f.ID) || got[i].UID != fmt.Sprint(f.UID) || got[i].Name != f.Name {
						t.Errorf("friend %d: %+v, want the saved %+v", i, got[i], f)
					}
				}
			}
			status, body := call(t, "/openqq/get_friend_info", "wrong")
			var res struct {
				Code   int
				Status string
			}
			if err := json.Unmarshal(body, &res); status != http.StatusUnauthorized || err != nil || res.Code != -6 {
				t.Errorf("a wrong token: HTTP %d %s, want 401 with code -6", status, body)
			}
		})
	}
}

// httpAPIEvent is what an API Gateway HTTP API with the $default route and
// stage sends for GET path (query included) with a Bearer token.
func httpAPIEvent(path, token string) events.APIGatewayV2HTTPRequest {
	const domain = "r4nd0m1d.execute-api.us-east-1.amazonaws.com"
	rawPath, rawQuery, _ := strings.Cut(path, "?")
	e := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: rawPath, RawQueryString: rawQuery,
		Headers: map[string]string{
			"authorization": "Bearer " + token, "host": domain, "user-agent": "curl/8.5.0",
			"x-forwarded-for": "198.51.100.23", "x-forwarded-port": "443", "x-forwarded-proto": "https",
		},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "$default", AccountID: "123456789012", Stage: "$default", RequestID: "cXnU8iTEoAMEbVQ=",
			APIID: "r4nd0m1d", DomainName: domain, DomainPrefix: "r4nd0m1d",
			Time: "24/Jul/2024:08:18:02 +0000", TimeEpoch: 1721809082456,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: http.MethodGet, Path: rawPath, Protocol: "HTTP/1.1", SourceIP: "198.51.100.23", UserAgent: "curl/8.5.0",
			},
		},
	}
	if q, err := url.ParseQuery(rawQuery); err == nil && len(q) > 0 {
		e.QueryStringParameters = map[string]string{}
		for k, v := range q {
			e.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	return e
}
