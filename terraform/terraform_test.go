package terraform

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

func loadThisModule(t *testing.T) *module {
	t.Helper()
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestModule is the offline gate: terraform fmt, parsing, references,
// declarations, provider pins, templates and unused declarations.
func TestModule(t *testing.T) {
	m := loadThisModule(t)
	for _, i := range m.check() {
		t.Error(i)
	}
	for _, f := range []string{"versions.tf", "variables.tf", "outputs.tf", "main.tf", "network.tf", "redis.tf", "lambda.tf", "api.tf", "connector.tf", "ssm.tf", "iam.tf", "logs.tf"} {
		if _, ok := m.bodies[f]; !ok {
			t.Errorf("%s missing", f)
		}
	}
}

// TestCheckerCatches runs the checker on a module with one mistake of each
// kind and expects exactly those findings.
func TestCheckerCatches(t *testing.T) {
	m, err := loadModule(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"(module):0: terraform block has no required_version",
		"main.tf:3: local.unused is never used",
		"main.tf:17: not formatted as terraform fmt would",
		"main.tf:17: reference to undeclared data aws_ami.gone",
		"main.tf:18: reference to undeclared var nope",
		"main.tf:19: aws_subnet.a has count or for_each: index it",
		"main.tf:20: aws_vpc.main has no count or for_each: it cannot be indexed",
		"main.tf:21: reference to undeclared local missing",
		"main.tf:22: each.key outside a block with for_each",
		"main.tf:22: reference to undeclared resource aws_vpc.mian",
		"main.tf:22: reference to undeclared module absent",
		"main.tf:23: provider aws.east is not configured",
		"main.tf:28: unknown function lenght",
		"main.tf:29: count.index outside a block with count",
		"main.tf:29: unknown path.nowhere",
		"main.tf:29: unknown terraform.env",
		"main.tf:29: self outside a postcondition",
		"main.tf:32: random_id.r: provider random is not in required_providers",
		"main.tf:39: template boot.tftpl reads account, which is not passed",
		"main.tf:39: template boot.tftpl does not use extra",
		"main.tf:40: file: open",
		"outputs.tf:1: output vpc has no description",
		"outputs.tf:7: output url derives from a secret but is not sensitive = true",
		"variables.tf:7: variable no_description has no description",
		"variables.tf:7: variable no_description is never used",
		"variables.tf:12: variable no_type has no type",
		"variables.tf:12: variable no_type is never used",
		"variables.tf:17: variable never_read is never used",
		"variables.tf:26: variable count_of: value fails its validation",
		"variables.tf:40: a validation of variable \"peeks\" may refer only to var.peeks",
		"variables.tf:52: variable wrong_default is never used",
		"variables.tf:55: variable wrong_default: value does not fit its type",
		"versions.tf:3: provider aws: version \">= 5.0\" has no upper bound",
	}
	got := m.check()
	matched := make([]bool, len(got))
	for _, w := range want {
		n := 0
		for i, g := range got {
			if !matched[i] && strings.HasPrefix(g.String(), w) {
				matched[i] = true
				n++
				break
			}
		}
		if n == 0 {
			t.Errorf("not reported: %s", w)
		}
	}
	for i, g := range got {
		if !matched[i] {
			t.Errorf("unexpected: %s", g)
		}
	}
}

// TestTfvarsExample: every setting of terraform.tfvars.example is a declared
// variable, fits its type and passes its validations; every variable without
// a default is set there.
func TestTfvarsExample(t *testing.T) {
	m := loadThisModule(t)
	f, diags := hclparse.NewParser().ParseHCL(readFile(t, "terraform.tfvars.example"), "terraform.tfvars.example")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	attrs := f.Body.(*hclsyntax.Body).Attributes
	if len(attrs) < 10 {
		t.Fatalf("only %d settings", len(attrs))
	}
	for name, a := range attrs {
		v := m.vars[name]
		if v == nil {
			t.Errorf("%s is not a variable of the module", name)
			continue
		}
		ty, diags := typeexpr.TypeConstraint(v.Body.Attributes["type"].Expr)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		m.checkValue(a.SrcRange, name, ty, a.Expr)
	}
	for name, v := range m.vars {
		if _, ok := v.Body.Attributes["default"]; !ok && attrs[name] == nil {
			t.Errorf("required variable %s is not in the example", name)
		}
	}
	for _, i := range m.issues {
		t.Error(i)
	}
}

// evalLocal evaluates a local of the module with the given variables; it
// fails when the local reads anything else.
func evalLocal(t *testing.T, m *module, name string, vars map[string]cty.Value, locals map[string]cty.Value) cty.Value {
	t.Helper()
	a := m.locals[name]
	if a == nil {
		t.Fatalf("no local.%s", name)
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(vars), "local": cty.ObjectVal(locals)},
		Functions: map[string]function.Function{"min": stdlib.MinFunc},
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("local.%s: %s", name, diags.Error())
	}
	return v
}

// TestCheckEventTimeout: behind the HTTP API (30 s per request, fixed by
// AWS) check_event holds at most 25 s and the function ends before the
// gateway; behind a Function URL the configured wait is kept.
func TestCheckEventTimeout(t *testing.T) {
	m := loadThisModule(t)
	for _, c := range []struct {
		endpoint              string
		configured, hold, fun int64
	}{
		{"http_api", 30, 25, 30},
		{"http_api", 20, 20, 30},
		{"function_url", 30, 30, 40},
		{"function_url", 120, 120, 130},
	} {
		vars := map[string]cty.Value{
			"relay_endpoint":              cty.StringVal(c.endpoint),
			"check_event_timeout_seconds": cty.NumberIntVal(c.configured),
		}
		hold := evalLocal(t, m, "check_event_timeout", vars, nil)
		fun := evalLocal(t, m, "lambda_timeout", vars, map[string]cty.Value{"check_event_timeout": hold})
		h, _ := hold.AsBigFloat().Int64()
		f, _ := fun.AsBigFloat().Int64()
		if h != c.hold || f != c.fun {
			t.Errorf("%s with %ds: hold %ds, function timeout %ds; want %d and %d", c.endpoint, c.configured, h, f, c.hold, c.fun)
		}
		if f <= h {
			t.Errorf("%s: the function (%ds) must outlive the hold (%ds)", c.endpoint, f, h)
		}
	}
	integration := m.resources["aws_apigatewayv2_integration.relay"]
	if v, _ := integration.Body.Attributes["timeout_milliseconds"].Expr.Value(nil); !v.RawEquals(cty.NumberIntVal(30000)) {
		t.Errorf("HTTP API integration timeout %v, want 30000 (the maximum)", v)
	}
}

// knownVariables are the environment variables of the binary that the
// deployment sets, and AWS_REGION for the SDK on EC2.
var knownVariables = map[string]bool{
	"OPENQQ_REDIS_URL": true, "OPENQQ_ACCOUNT": true, "OPENQQ_BACKEND": true, "OPENQQ_SEND_INTERVAL": true,
	"OPENQQ_LISTEN": true, "OPENQQ_ADMIN_LISTEN": true, "OPENQQ_API_TOKENS": true, "OPENQQ_ALLOW_NO_AUTH": true,
	"OPENQQ_CHECK_EVENT_TIMEOUT": true, "OPENQQ_POST_API": true, "OPENQQ_WEBHOOK_SECRET": true,
	"OPENQQ_POLL_API": true, "OPENQQ_POLL_INTERVAL": true, "OPENQQ_QQ_PASSWORD": true,
	"OPENQQ_LOG_LEVEL": true, "OPENQQ_SSM_PATH": true, "AWS_REGION": true,
}

// TestSecretsLayout: each SSM parameter is named after the variable it sets,
// under the path of the one process that reads it; the function's policy and
// OPENQQ_SSM_PATH name the relay's path only.
func TestSecretsLayout(t *testing.T) {
	m := loadThisModule(t)
	n := 0
	for key, b := range m.resources {
		if !strings.HasPrefix(key, "aws_ssm_parameter.") {
			continue
		}
		n++
		name := string(readRange(t, b.Body.Attributes["name"].Expr.Range()))
		variable := name[strings.LastIndex(name, "/")+1 : len(name)-1]
		if !knownVariables[variable] {
			t.Errorf("%s: parameter %s sets no known variable", key, name)
		}
		process := strings.TrimPrefix(strings.Split(key, ".")[1], "")
		process, _, _ = strings.Cut(process, "_")
		if !strings.Contains(name, "local."+process+"_ssm_path") {
			t.Errorf("%s: %s is not under the %s path", key, name, process)
		}
		if typ := literal(b.Body.Attributes["type"].Expr); typ != "SecureString" {
			t.Errorf("%s: type %s, want SecureString", key, typ)
		}
	}
	if n < 4 {
		t.Errorf("only %d SSM parameters", n)
	}
	policy := string(readRange(t, m.data["aws_iam_policy_document.relay"].Body.Range()))
	if !strings.Contains(policy, "local.relay_ssm_path") || strings.Contains(policy, "local.connector_ssm_path") {
		t.Error("the function's policy must name the relay's parameters only")
	}
	fn := string(readRange(t, m.resources["aws_lambda_function.relay"].Body.Range()))
	if !strings.Contains(fn, "OPENQQ_SSM_PATH            = local.relay_ssm_path") {
		t.Error("the function must read OPENQQ_SSM_PATH = local.relay_ssm_path")
	}
	for _, forbidden := range []string{"OPENQQ_API_TOKENS", "OPENQQ_REDIS_URL", "OPENQQ_WEBHOOK_SECRET"} {
		if strings.Contains(fn, forbidden) {
			t.Errorf("the function's environment carries %s: secrets come from SSM", forbidden)
		}
	}
}

// TestUserData renders the connector's boot script as terraform would, with
// the real systemd unit, and has bash parse it.
func TestUserData(t *testing.T) {
	src := readFile(t, filepath.Join("templates", "connector-user-data.sh.tftpl"))
	tmpl, diags := hclsyntax.ParseTemplate(src, "connector-user-data.sh.tftpl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	vars := map[string]cty.Value{}
	for _, tr := range tmpl.Variables() {
		vars[tr.RootName()] = cty.StringVal("x-" + tr.RootName())
	}
	vars["unit"] = cty.StringVal(strings.TrimSuffix(string(readFile(t, "../infra/systemd/openqq-connector.service")), "\n"))
	vars["ssm_path"] = cty.StringVal("/openqq/connector")
	out, diags := tmpl.Value(&hcl.EvalContext{Variables: vars})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	script := out.AsString()
	path := filepath.Join(t.TempDir(), "user-data.sh")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := run(t, "bash", "-n", path); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, msg)
	}
	env := between(t, script, "<<'ENV'\n", "\nENV\n")
	for _, line := range strings.Split(env, "\n") {
		k, _, _ := strings.Cut(line, "=")
		if !knownVariables[k] {
			t.Errorf("boot script sets unknown variable %s", k)
		}
	}
	if !strings.Contains(env, "OPENQQ_SSM_PATH=/openqq/connector") {
		t.Error("boot script does not point the connector at its SSM path")
	}
	if unit := between(t, script, "<<'UNIT'\n", "\nUNIT\n"); !strings.Contains(unit, "ExecStart=/usr/local/bin/openqq connector") {
		t.Error("boot script does not install the connector unit")
	}
}

func between(t *testing.T, s, start, end string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		t.Fatalf("no %q", start)
	}
	body, _, ok := strings.Cut(rest, end)
	if !ok {
		t.Fatalf("no %q", end)
	}
	return body
}

// TestTerraformFmt cross-checks the hclwrite formatting test with terraform
// itself where the binary is installed.
func TestTerraformFmt(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("terraform not installed; TestModule checks formatting with hclwrite")
	}
	out, err := run(t, "terraform", "fmt", "-check", "-diff", ".")
	if err != nil {
		t.Errorf("terraform fmt -check: %v\n%s", err, out)
	}
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// The machine may point TF_CLI_CONFIG_FILE at a missing file.
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1")
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readRange(t *testing.T, r hcl.Range) []byte {
	t.Helper()
	return readFile(t, r.Filename)[r.Start.Byte:r.End.Byte]
}
