package terraform

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// check runs every rule and returns the findings, sorted.
func (m *module) check() []issue {
	m.checkReferences()
	m.checkVariables()
	m.checkOutputs()
	m.checkProviders()
	m.checkTemplates()
	m.checkUnused()
	sort.Slice(m.issues, func(i, j int) bool {
		a, b := m.issues[i], m.issues[j]
		if a.file != b.file {
			return a.file < b.file
		}
		if a.line != b.line {
			return a.line < b.line
		}
		return a.msg < b.msg
	})
	return m.issues
}

func sortedKeys[V any](set map[string]V) []string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkVariables: each variable states a description and a type, and its
// default satisfies its type and its validations.
func (m *module) checkVariables() {
	for _, name := range sortedKeys(m.vars) {
		b := m.vars[name]
		attrs := b.Body.Attributes
		if d, ok := attrs["description"]; !ok || strings.TrimSpace(literal(d.Expr)) == "" {
			m.report(b.DefRange(), "variable %s has no description", name)
		}
		t, ok := attrs["type"]
		if !ok {
			m.report(b.DefRange(), "variable %s has no type", name)
			continue
		}
		ty, diags := typeexpr.TypeConstraint(t.Expr)
		if diags.HasErrors() {
			m.report(t.SrcRange, "variable %s: bad type: %s", name, diags.Error())
			continue
		}
		if d, ok := attrs["default"]; ok {
			m.checkValue(d.SrcRange, name, ty, d.Expr)
		}
	}
}

// checkValue converts a constant value to the variable's type and runs the
// variable's validations on it (with the functions they commonly use; a
// condition calling any other is left to terraform).
func (m *module) checkValue(r hcl.Range, name string, ty cty.Type, expr hcl.Expression) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		m.report(r, "variable %s: value is not a constant: %s", name, diags.Error())
		return
	}
	if v, err := convert.Convert(v, ty); err != nil {
		m.report(r, "variable %s: value does not fit its type: %v", name, err)
		return
	} else if v.IsNull() {
		return // null skips validation, as in terraform
	}
	v, _ = convert.Convert(v, ty)
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: v})},
		Functions: map[string]function.Function{
			"can": tryfunc.CanFunc, "regex": stdlib.RegexFunc, "contains": stdlib.ContainsFunc,
			"length": stdlib.LengthFunc,
		},
	}
	for _, vb := range m.vars[name].Body.Blocks {
		if vb.Type != "validation" {
			continue
		}
		cond := vb.Body.Attributes["condition"]
		if cond == nil {
			m.report(vb.DefRange(), "variable %s: validation without condition", name)
			continue
		}
		if !callsOnly(cond.Expr, ctx.Functions) {
			continue
		}
		ok, diags := cond.Expr.Value(ctx)
		if diags.HasErrors() || !ok.IsKnown() || ok.Type() != cty.Bool {
			continue
		}
		if ok.False() {
			m.report(r, "variable %s: value fails its validation %s", name, hclRangeText(cond.Expr))
		}
	}
}

// callsOnly reports whether every function the expression calls is in fns.
func callsOnly(e hclsyntax.Expression, fns map[string]function.Function) bool {
	ok := true
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		if call, is := n.(*hclsyntax.FunctionCallExpr); is && fns[call.Name] == (function.Function{}) {
			ok = false
		}
		return nil
	})
	return ok
}

func hclRangeText(e hclsyntax.Expression) string {
	r := e.Range()
	src, err := os.ReadFile(r.Filename)
	if err != nil || r.End.Byte > len(src) {
		return ""
	}
	return string(src[r.Start.Byte:r.End.Byte])
}

// literal returns the value of a constant string expression, or "".
func literal(e hclsyntax.Expression) string {
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// checkOutputs: each output has a description, and one that derives from a
// secret says sensitive = true (terraform refuses it otherwise).
func (m *module) checkOutputs() {
	secret := m.sensitiveLocals()
	for _, name := range sortedKeys(m.outputs) {
		b := m.outputs[name]
		attrs := b.Body.Attributes
		if d, ok := attrs["description"]; !ok || strings.TrimSpace(literal(d.Expr)) == "" {
			m.report(b.DefRange(), "output %s has no description", name)
		}
		value, ok := attrs["value"]
		if !ok {
			m.report(b.DefRange(), "output %s has no value", name)
			continue
		}
		marked := false
		if s, ok := attrs["sensitive"]; ok {
			v, diags := s.Expr.Value(nil)
			marked = !diags.HasErrors() && v.Type() == cty.Bool && v.True()
		}
		if !marked && m.isSensitive(value.Expr, secret) {
			m.report(value.SrcRange, "output %s derives from a secret but is not sensitive = true", name)
		}
	}
}

// isSensitive reports whether an expression reads a secret: a sensitive
// variable, a generated password, an SSM parameter's value or a local made
// of those.
func (m *module) isSensitive(e hclsyntax.Expression, secretLocals map[string]bool) bool {
	for _, tr := range hclsyntax.Variables(e) {
		step := func(i int) string {
			if i < len(tr) {
				if a, ok := tr[i].(hcl.TraverseAttr); ok {
					return a.Name
				}
			}
			return ""
		}
		switch root := tr.RootName(); {
		case root == "var":
			if b := m.vars[step(1)]; b != nil {
				if s, ok := b.Body.Attributes["sensitive"]; ok {
					if v, diags := s.Expr.Value(nil); !diags.HasErrors() && v.True() {
						return true
					}
				}
			}
		case root == "local":
			if secretLocals[step(1)] {
				return true
			}
		case root == "random_password":
			return true
		case root == "aws_ssm_parameter" && slices.Contains([]string{"value", ""}, step(2)):
			return true
		}
	}
	return false
}

// sensitiveLocals returns the locals that derive from a secret, to a fixed
// point (locals may refer to locals).
func (m *module) sensitiveLocals() map[string]bool {
	secret := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for name, a := range m.locals {
			if !secret[name] && m.isSensitive(a.Expr, secret) {
				secret[name], changed = true, true
			}
		}
	}
	return secret
}

// checkProviders: terraform states required_version, each provider a source
// and a version with an upper bound, and every resource type comes from a
// required provider.
func (m *module) checkProviders() {
	required := map[string]bool{}
	version := false
	for _, tb := range m.terraform {
		if _, ok := tb.Body.Attributes["required_version"]; ok {
			version = true
		}
		for _, rp := range tb.Body.Blocks {
			if rp.Type != "required_providers" {
				continue
			}
			for name, a := range rp.Body.Attributes {
				required[name] = true
				v, diags := a.Expr.Value(nil)
				if diags.HasErrors() || !v.Type().IsObjectType() || !v.Type().HasAttribute("source") || !v.Type().HasAttribute("version") {
					m.report(a.SrcRange, "provider %s: give source and version", name)
					continue
				}
				c := v.GetAttr("version").AsString()
				if !strings.Contains(c, "~>") && !strings.Contains(c, "<") && !strings.HasPrefix(strings.TrimSpace(c), "=") {
					m.report(a.SrcRange, "provider %s: version %q has no upper bound", name, c)
				}
			}
		}
	}
	if !version {
		m.issues = append(m.issues, issue{file: "(module)", msg: "terraform block has no required_version"})
	}
	for _, set := range []map[string]*hclsyntax.Block{m.resources, m.data} {
		for _, key := range sortedKeys(set) {
			provider, _, _ := strings.Cut(key, "_")
			if !required[provider] {
				m.report(set[key].DefRange(), "%s: provider %s is not in required_providers", key, provider)
			}
		}
	}
}

// checkUnused: declared variables, locals and data sources are all read.
func (m *module) checkUnused() {
	for _, name := range sortedKeys(m.vars) {
		if !m.used["var."+name] {
			m.report(m.vars[name].DefRange(), "variable %s is never used", name)
		}
	}
	for _, name := range sortedKeys(m.locals) {
		if !m.used["local."+name] {
			m.report(m.locals[name].SrcRange, "local.%s is never used", name)
		}
	}
	for _, key := range sortedKeys(m.data) {
		if !m.used["data."+key] {
			m.report(m.data[key].DefRange(), "data.%s is never used", key)
		}
	}
}

// pathEval evaluates a file-name argument that depends on path.module only.
func (m *module) pathEval(e hclsyntax.Expression) (string, bool) {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(m.dir)}),
	}}
	v, diags := e.Value(ctx)
	if diags.HasErrors() || v.Type() != cty.String || !v.IsKnown() {
		return "", false
	}
	return v.AsString(), true
}

// checkTemplates: file functions on path.module paths name existing files,
// and each templatefile call passes exactly the variables its template reads.
func (m *module) checkTemplates() {
	for _, name := range m.files {
		hclsyntax.VisitAll(m.bodies[name], func(n hclsyntax.Node) hcl.Diagnostics {
			call, ok := n.(*hclsyntax.FunctionCallExpr)
			if !ok || len(call.Args) == 0 || !strings.HasPrefix(call.Name, "file") && call.Name != "templatefile" {
				return nil
			}
			p, ok := m.pathEval(call.Args[0])
			if !ok {
				return nil // a path from a variable: checked at plan time
			}
			src, err := os.ReadFile(p)
			if err != nil {
				m.report(call.Args[0].Range(), "%s: %v", call.Name, err)
				return nil
			}
			if call.Name == "templatefile" && len(call.Args) == 2 {
				m.checkTemplateVars(call, p, src)
			}
			return nil
		})
	}
}

func (m *module) checkTemplateVars(call *hclsyntax.FunctionCallExpr, path string, src []byte) {
	tmpl, diags := hclsyntax.ParseTemplate(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		m.report(call.Args[0].Range(), "template %s: %s", filepath.Base(path), diags.Error())
		return
	}
	obj, ok := call.Args[1].(*hclsyntax.ObjectConsExpr)
	if !ok {
		m.report(call.Args[1].Range(), "templatefile variables must be an object literal")
		return
	}
	given := map[string]bool{}
	for _, item := range obj.Items {
		given[hcl.ExprAsKeyword(item.KeyExpr)] = true
	}
	read := map[string]bool{}
	for _, tr := range tmpl.Variables() {
		read[tr.RootName()] = true
		if !given[tr.RootName()] {
			m.report(call.Args[1].Range(), "template %s reads %s, which is not passed", filepath.Base(path), tr.RootName())
		}
	}
	for _, k := range sortedKeys(given) {
		if !read[k] {
			m.report(call.Args[1].Range(), "template %s does not use %s", filepath.Base(path), k)
		}
	}
}
