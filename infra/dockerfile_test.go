package infra

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"

	"github.com/openqq-relay/openqq"
)

// offlineResolver answers every base-image lookup with an empty config, so
// the linter never reaches a registry. It records what was asked.
type offlineResolver struct {
	mu   sync.Mutex
	refs []string
}

func (r *offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refs = append(r.refs, ref)
	return ref, "", []byte(`{}`), nil
}

// lintDockerfile runs BuildKit's own checks (those of `docker build --check`)
// and returns one line per warning or build error.
func lintDockerfile(tb testing.TB, src []byte) ([]string, []string) {
	tb.Helper()
	sm := llb.NewSourceMap(nil, "Dockerfile", "Dockerfile", src)
	sm.Definition = &llb.Definition{}
	resolver := &offlineResolver{}
	res, err := dockerfile2llb.DockerfileLint(context.Background(), src, dockerfile2llb.ConvertOpt{
		SourceMap:    sm,
		MetaResolver: resolver,
	})
	if err != nil {
		tb.Fatalf("lint: %v", err)
	}
	var problems []string
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		problems = append(problems, fmt.Sprintf("line %d: %s: %s", line, w.RuleName, w.Detail))
	}
	if res.Error != nil {
		problems = append(problems, "build error: "+res.Error.Message)
	}
	return problems, resolver.refs
}

func TestDockerfileLint(t *testing.T) {
	problems, refs := lintDockerfile(t, readFile(t, "Dockerfile"))
	for _, p := range problems {
		t.Error(p)
	}
	// Both stages were resolved (through the stub), so every rule that needs
	// a base image ran.
	if len(refs) != 2 {
		t.Errorf("base images resolved: %q, want the build and the runtime image", refs)
	}
}

// TestDockerfileLintCatches shows the gate is live: the same linter flags a
// Dockerfile with the mistakes it is there to stop.
func TestDockerfileLintCatches(t *testing.T) {
	bad := []byte("FROM golang:1.26-bookworm as Build\nWORKDIR src\nENV API_TOKEN=x\nCMD openqq up\n")
	problems, _ := lintDockerfile(t, bad)
	joined := strings.Join(problems, "\n")
	for _, rule := range []string{"StageNameCasing", "FromAsCasing", "WorkdirRelativePath", "SecretsUsedInArgOrEnv", "JSONArgsRecommended"} {
		if !strings.Contains(joined, rule) {
			t.Errorf("linter did not report %s; got:\n%s", rule, joined)
		}
	}
}

// dockerfile is the parsed Dockerfile: its stages by name and in order.
type dockerfile struct {
	stages []instructions.Stage
}

func parseDockerfile(tb testing.TB) dockerfile {
	tb.Helper()
	ast, err := parser.Parse(bytes.NewReader(readFile(tb, "Dockerfile")))
	if err != nil {
		tb.Fatal(err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return dockerfile{stages: stages}
}

func (d dockerfile) stage(tb testing.TB, name string) instructions.Stage {
	tb.Helper()
	for _, s := range d.stages {
		if s.Name == name {
			return s
		}
	}
	tb.Fatalf("Dockerfile has no stage %q", name)
	return instructions.Stage{}
}

// commands returns the stage's commands of type T, in order.
func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// goBuildRun returns the build stage's RUN that compiles the binary.
func goBuildRun(tb testing.TB, s instructions.Stage) *instructions.RunCommand {
	tb.Helper()
	for _, r := range commands[*instructions.RunCommand](s) {
		if strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			return r
		}
	}
	tb.Fatal("build stage has no RUN … go build")
	return nil
}

func TestDockerfileStages(t *testing.T) {
	d := parseDockerfile(t)
	if len(d.stages) != 2 {
		t.Fatalf("stages = %d, want build + runtime", len(d.stages))
	}
	build := d.stage(t, "build")
	if build.BaseName != "golang:1.26-bookworm" {
		t.Errorf("build stage FROM %s, want golang:1.26-bookworm", build.BaseName)
	}
	goRun := goBuildRun(t, build)
	cmdline := strings.Join(goRun.CmdLine, " ")
	for _, want := range []string{"-trimpath", "-ldflags='-s -w'", "./cmd/openqq"} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("go build line %q lacks %s", cmdline, want)
		}
	}
	// Mount flags are evaluated on expansion; the line uses no variables.
	if err := goRun.Expand(func(w string) (string, error) { return w, nil }); err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range instructions.GetMounts(goRun) {
		if m.Type == instructions.MountTypeCache {
			targets = append(targets, m.Target)
		}
	}
	for _, want := range []string{"/go/pkg/mod", "/root/.cache/go-build"} {
		if !slices.Contains(targets, want) {
			t.Errorf("go build RUN has no cache mount on %s (has %q)", want, targets)
		}
	}
	if env := stageEnv(build); env["CGO_ENABLED"] != "0" {
		t.Errorf("build stage CGO_ENABLED = %q, want 0", env["CGO_ENABLED"])
	}

	final := d.stages[len(d.stages)-1]
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") || !strings.HasSuffix(final.BaseName, ":nonroot") {
		t.Errorf("runtime FROM %s, want distroless static :nonroot", final.BaseName)
	}
	users := commands[*instructions.UserCommand](final)
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1].User, "root") || strings.HasPrefix(users[len(users)-1].User, "0") {
		t.Errorf("runtime stage must end as a non-root USER, has %v", users)
	}
	if e := commands[*instructions.EntrypointCommand](final); len(e) != 1 || e[0].PrependShell || !slices.Equal(e[0].CmdLine, []string{"/openqq"}) {
		t.Errorf(`ENTRYPOINT must be ["/openqq"]`)
	}
	if c := commands[*instructions.CmdCommand](final); len(c) != 1 || c[0].PrependShell || !slices.Equal(c[0].CmdLine, []string{"up"}) {
		t.Errorf(`CMD must be ["up"]`)
	}
	hc := commands[*instructions.HealthCheckCommand](final)
	if len(hc) != 1 || !slices.Equal(hc[0].Health.Test, []string{"CMD", "/openqq", "healthcheck"}) {
		t.Errorf(`HEALTHCHECK must run ["/openqq", "healthcheck"] (exec form: the image has no shell)`)
	}

	// The runtime stage copies exactly what the build stage wrote.
	copies := commands[*instructions.CopyCommand](final)
	if len(copies) != 1 || copies[0].From != "build" {
		t.Fatalf("runtime stage must COPY --from=build once, has %d COPY", len(copies))
	}
	if got, want := copies[0].SourcePaths, []string{path.Join(stageWorkdir(build), buildOutput(t, goRun))}; !slices.Equal(got, want) {
		t.Errorf("COPY --from=build %q, but the build writes %q", got, want)
	}
	if copies[0].DestPath != "/openqq" {
		t.Errorf("binary copied to %s, ENTRYPOINT runs /openqq", copies[0].DestPath)
	}
}

func stageEnv(s instructions.Stage) map[string]string {
	env := map[string]string{}
	for _, e := range commands[*instructions.EnvCommand](s) {
		for _, kv := range e.Env {
			env[kv.Key] = kv.Value
		}
	}
	return env
}

func stageWorkdir(s instructions.Stage) string {
	dir := "/"
	for _, w := range commands[*instructions.WorkdirCommand](s) {
		if path.IsAbs(w.Path) {
			dir = w.Path
		} else {
			dir = path.Join(dir, w.Path)
		}
	}
	return dir
}

// buildOutput returns the -o argument of the go build command line.
func buildOutput(tb testing.TB, r *instructions.RunCommand) string {
	tb.Helper()
	f := strings.Fields(strings.Join(r.CmdLine, " "))
	if i := slices.Index(f, "-o"); i >= 0 && i+1 < len(f) {
		return f[i+1]
	}
	tb.Fatal("go build has no -o")
	return ""
}

// contextMatcher is the .dockerignore as BuildKit applies it.
func contextMatcher(tb testing.TB) *patternmatcher.PatternMatcher {
	tb.Helper()
	patterns, err := ignorefile.ReadAll(bytes.NewReader(readFile(tb, ".dockerignore")))
	if err != nil {
		tb.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		tb.Fatal(err)
	}
	return pm
}

func ignored(tb testing.TB, pm *patternmatcher.PatternMatcher, rel string) bool {
	tb.Helper()
	m, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestDockerignore(t *testing.T) {
	pm := contextMatcher(t)
	for _, rel := range []string{"go.mod", "go.sum", "cmd/openqq/main.go", "store/keys.go", "store/scripts/claim.lua", "relay/page.html"} {
		if ignored(t, pm, rel) {
			t.Errorf("%s is excluded from the build context", rel)
		}
	}
	for _, rel := range []string{".git/config", ".env", "infra/.env", "terraform/terraform.tfvars", "terraform/terraform.tfstate", "terraform/terraform.tfstate.backup", "terraform/.terraform/providers/x", "dist/openqq-relay-arm64.zip", "relay/testdata/x.golden", "store/keys_test.go", "docs/deploy.md"} {
		if !ignored(t, pm, rel) {
			t.Errorf("%s goes into the build context", rel)
		}
	}
	// BuildKit's CopyIgnoredFile rule needs a live client; the same check here.
	for _, s := range parseDockerfile(t).stages {
		for _, c := range commands[*instructions.CopyCommand](s) {
			if c.From != "" {
				continue
			}
			for _, src := range c.SourcePaths {
				if src != "." && ignored(t, pm, src) {
					t.Errorf("COPY %s: excluded by .dockerignore", src)
				}
			}
		}
	}
}

// copyContext copies the repository into dst as BuildKit would send it.
func copyContext(tb testing.TB, pm *patternmatcher.PatternMatcher, dst string) {
	tb.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		tb.Fatal(err)
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		if ignored(tb, pm, rel) {
			if d.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// TestDockerfileBuildMatchesDirectBuild runs the build stage without Docker:
// the context filtered by .dockerignore is laid out as the stage's COPYs put
// it, and the stage's own `RUN … go build` line runs in it under sh with the
// stage's ENV and the ARGs BuildKit sets. The binary must be byte-identical to
// the canonical direct build of the checkout.
func TestDockerfileBuildMatchesDirectBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice; skipped with -short")
	}
	d := parseDockerfile(t)
	build := d.stage(t, "build")
	goRun := goBuildRun(t, build)
	if !goRun.PrependShell || len(goRun.CmdLine) != 1 {
		t.Fatalf("go build RUN must be shell form, got %q", goRun.CmdLine)
	}

	// The stage's filesystem: a fake root with WORKDIR inside it.
	fsRoot := t.TempDir()
	workdir := filepath.Join(fsRoot, filepath.FromSlash(stageWorkdir(build)))
	ctxDir := t.TempDir()
	copyContext(t, contextMatcher(t), ctxDir)
	for _, c := range commands[*instructions.CopyCommand](build) {
		applyCopy(t, c, ctxDir, workdir)
	}

	env := cleanEnv()
	for k, v := range stageEnv(build) {
		env = append(env, k+"="+v)
	}
	// The platform ARGs BuildKit fills in for a native build.
	args := map[string]string{"TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH}
	for _, a := range commands[*instructions.ArgCommand](build) {
		for _, kv := range a.Args {
			v, ok := args[kv.Key]
			if !ok {
				v = kv.ValueString()
			}
			env = append(env, kv.Key+"="+v)
		}
	}
	if out, err := run(t, workdir, env, "sh", "-c", goRun.CmdLine[0]); err != nil {
		t.Fatalf("RUN %s: %v\n%s", goRun.CmdLine[0], err, out)
	}
	final := d.stages[len(d.stages)-1]
	built := filepath.Join(fsRoot, filepath.FromSlash(commands[*instructions.CopyCommand](final)[0].SourcePaths[0]))

	direct := openqqBinary(t)
	if got, want := sha256File(t, built), sha256File(t, direct); got != want {
		t.Errorf("Dockerfile build sha256 %s, direct build %s", got, want)
	}
	assertStatic(t, built)
	out, err := run(t, "", nil, built, "version")
	if err != nil || strings.TrimSpace(out) != "openqq "+openqq.Version {
		t.Errorf("%s version = %q, %v; want openqq %s", built, out, err, openqq.Version)
	}
}

// applyCopy performs one context COPY of the build stage into workdir. It
// knows the two forms the Dockerfile uses and fails on any other, so a change
// there shows up here.
func applyCopy(tb testing.TB, c *instructions.CopyCommand, ctxDir, workdir string) {
	tb.Helper()
	if c.From != "" {
		tb.Fatalf("build stage COPY --from=%s is not modelled", c.From)
	}
	dest := c.DestPath
	if !path.IsAbs(dest) {
		dest = filepath.Join(workdir, dest)
	}
	for _, src := range c.SourcePaths {
		switch {
		case src == ".":
			copyOver(tb, ctxDir, dest)
		case strings.HasSuffix(c.DestPath, "/") && !strings.ContainsAny(src, "*?["):
			b, err := os.ReadFile(filepath.Join(ctxDir, src))
			if err != nil {
				tb.Fatal(err)
			}
			if err := os.MkdirAll(dest, 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dest, path.Base(src)), b, 0o644); err != nil {
				tb.Fatal(err)
			}
		default:
			tb.Fatalf("COPY %s %s is not modelled", src, c.DestPath)
		}
	}
}

// copyOver copies the tree src onto dst, replacing files as COPY does.
func copyOver(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// assertStatic fails unless the ELF file has no program interpreter, i.e.
// runs on distroless static and on Lambda's OS-only runtime.
func assertStatic(tb testing.TB, p string) {
	tb.Helper()
	f, err := elf.Open(p)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			tb.Errorf("%s is dynamically linked", p)
		}
	}
}
