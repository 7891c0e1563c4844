package terraform

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// issue is one finding of the checker, at a position in a file.
type issue struct {
	file string
	line int
	msg  string
}

func (i issue) String() string { return fmt.Sprintf("%s:%d: %s", i.file, i.line, i.msg) }

// module is one Terraform module directory, parsed, with its declarations.
type module struct {
	dir       string
	files     []string // base names, sorted
	bodies    map[string]*hclsyntax.Body
	vars      map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	resources map[string]*hclsyntax.Block // "type.name"
	data      map[string]*hclsyntax.Block // "type.name"
	modules   map[string]*hclsyntax.Block
	outputs   map[string]*hclsyntax.Block
	providers map[string]bool // "aws", "aws.alias"
	terraform []*hclsyntax.Block
	used      map[string]bool // "var.x", "local.x", "data.t.n", "module.x"
	issues    []issue
}

func (m *module) report(r hcl.Range, format string, args ...any) {
	m.issues = append(m.issues, issue{file: filepath.Base(r.Filename), line: r.Start.Line, msg: fmt.Sprintf(format, args...)})
}

// loadModule reads every *.tf file of dir: each must be formatted as
// terraform fmt leaves it, and parse.
func loadModule(dir string) (*module, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no .tf files in %s", dir)
	}
	m := &module{
		dir: dir, bodies: map[string]*hclsyntax.Body{},
		vars: map[string]*hclsyntax.Block{}, locals: map[string]*hclsyntax.Attribute{},
		resources: map[string]*hclsyntax.Block{}, data: map[string]*hclsyntax.Block{},
		modules: map[string]*hclsyntax.Block{}, outputs: map[string]*hclsyntax.Block{},
		providers: map[string]bool{}, used: map[string]bool{},
	}
	parser := hclparse.NewParser()
	for _, p := range paths {
		name := filepath.Base(p)
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if formatted := hclwrite.Format(src); string(formatted) != string(src) {
			m.issues = append(m.issues, issue{file: name, line: firstDiff(src, formatted), msg: "not formatted as terraform fmt would"})
		}
		f, diags := parser.ParseHCL(src, p)
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				m.report(*d.Subject, "parse: %s: %s", d.Summary, d.Detail)
			}
		}
		if f == nil || diags.HasErrors() {
			continue
		}
		m.files = append(m.files, name)
		m.bodies[name] = f.Body.(*hclsyntax.Body)
	}
	sort.Strings(m.files)
	for _, name := range m.files {
		m.declare(m.bodies[name])
	}
	return m, nil
}

// firstDiff returns the first line where two texts differ.
func firstDiff(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb))
}

// declare records the top-level declarations of one file.
func (m *module) declare(body *hclsyntax.Body) {
	for name, a := range body.Attributes {
		m.report(a.SrcRange, "top-level attribute %s", name)
	}
	add := func(set map[string]*hclsyntax.Block, key string, b *hclsyntax.Block) {
		if _, dup := set[key]; dup {
			m.report(b.DefRange(), "%s %s declared twice", b.Type, key)
		}
		set[key] = b
	}
	for _, b := range body.Blocks {
		switch b.Type {
		case "variable":
			add(m.vars, b.Labels[0], b)
		case "output":
			add(m.outputs, b.Labels[0], b)
		case "module":
			add(m.modules, b.Labels[0], b)
		case "resource":
			add(m.resources, b.Labels[0]+"."+b.Labels[1], b)
		case "data":
			add(m.data, b.Labels[0]+"."+b.Labels[1], b)
		case "locals":
			for name, a := range b.Body.Attributes {
				if _, dup := m.locals[name]; dup {
					m.report(a.SrcRange, "local.%s declared twice", name)
				}
				m.locals[name] = a
			}
		case "provider":
			key := b.Labels[0]
			if a, ok := b.Body.Attributes["alias"]; ok {
				if v, diags := a.Expr.Value(nil); !diags.HasErrors() {
					key += "." + v.AsString()
				}
			}
			m.providers[key] = true
		case "terraform":
			m.terraform = append(m.terraform, b)
		case "check", "moved", "import", "removed":
		default:
			m.report(b.DefRange(), "unknown top-level block %q", b.Type)
		}
	}
}

// scope says what an expression may refer to besides the module's objects.
type scope struct {
	count, each bool     // inside a block with count / for_each
	self        bool     // inside a postcondition, provisioner or connection
	iterators   []string // dynamic block iterators in reach
	variable    string   // inside variable "x": only var.x
}

// checkReferences walks every expression of the module and checks each
// reference: it must name a declared object, and use an instance key
// exactly when the object has count or for_each.
func (m *module) checkReferences() {
	for _, name := range m.files {
		for _, b := range m.bodies[name].Blocks {
			sc := scope{}
			switch b.Type {
			case "resource", "data", "module":
				_, sc.count = b.Body.Attributes["count"]
				_, sc.each = b.Body.Attributes["for_each"]
				if sc.count && sc.each {
					m.report(b.DefRange(), "%s %s has both count and for_each", b.Type, strings.Join(b.Labels, "."))
				}
			case "variable":
				// type is a type expression and default a constant
				// (checkVariables); only the validations refer to anything.
				sc.variable = b.Labels[0]
				for _, v := range b.Body.Blocks {
					m.walkBody(v.Body, v.Type, sc)
				}
				continue
			case "check", "moved", "import", "removed":
				continue
			}
			m.walkBody(b.Body, b.Type, sc)
		}
	}
}

func (m *module) walkBody(body *hclsyntax.Body, blockType string, sc scope) {
	for name, a := range body.Attributes {
		switch {
		case blockType == "lifecycle" && name == "ignore_changes":
			continue // attribute names of the resource itself
		case name == "provider" && (blockType == "resource" || blockType == "data"):
			m.checkProviderRef(a)
			continue
		case name == "providers" && blockType == "module":
			continue
		}
		m.checkExpr(a.Expr, sc)
	}
	for _, b := range body.Blocks {
		inner := sc
		switch b.Type {
		case "dynamic":
			iter := b.Labels[0]
			if a, ok := b.Body.Attributes["iterator"]; ok {
				iter = hcl.ExprAsKeyword(a.Expr)
			}
			for name, a := range b.Body.Attributes {
				if name != "iterator" {
					m.checkExpr(a.Expr, sc)
				}
			}
			inner.iterators = append(slices.Clone(sc.iterators), iter)
			for _, c := range b.Body.Blocks {
				m.walkBody(c.Body, c.Type, inner)
			}
			continue
		case "postcondition", "provisioner", "connection":
			inner.self = true
		}
		m.walkBody(b.Body, b.Type, inner)
	}
}

func (m *module) checkProviderRef(a *hclsyntax.Attribute) {
	tr, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() || len(tr) == 0 {
		m.report(a.SrcRange, "provider must be a provider reference")
		return
	}
	key := tr.RootName()
	if len(tr) > 1 {
		if at, ok := tr[1].(hcl.TraverseAttr); ok {
			key += "." + at.Name
		}
	}
	if !m.providers[key] {
		m.report(a.SrcRange, "provider %s is not configured", key)
	}
}

// builtins are Terraform's own functions; provider functions (a::b::c) are
// not checked.
var builtins = strings.Fields(`abs ceil floor log max min parseint pow signum
	chomp endswith format formatlist indent join lower regex regexall replace split startswith
	strcontains strrev substr templatestring title trim trimprefix trimsuffix trimspace upper
	alltrue anytrue chunklist coalesce coalescelist compact concat contains distinct element
	flatten index keys length lookup matchkeys merge one range reverse setintersection
	setproduct setsubtract setunion slice sort sum transpose values zipmap base64decode
	base64encode base64gzip csvdecode jsondecode jsonencode textdecodebase64 textencodebase64
	urlencode yamldecode yamlencode abspath dirname pathexpand basename file fileexists fileset
	filebase64 templatefile formatdate plantimestamp timeadd timecmp timestamp base64sha256
	base64sha512 bcrypt filebase64sha256 filebase64sha512 filemd5 filesha1 filesha256
	filesha512 md5 rsadecrypt sha1 sha256 sha512 uuid uuidv5 cidrhost cidrnetmask cidrsubnet
	cidrsubnets can issensitive nonsensitive sensitive tobool tolist tomap tonumber toset
	tostring try type ephemeralasnull`)

func (m *module) checkExpr(expr hclsyntax.Expression, sc scope) {
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && !strings.Contains(call.Name, "::") && !slices.Contains(builtins, call.Name) {
			m.report(call.NameRange, "unknown function %s", call.Name)
		}
		return nil
	})
	for _, tr := range hclsyntax.Variables(expr) {
		m.checkTraversal(tr, sc)
	}
}

func (m *module) checkTraversal(tr hcl.Traversal, sc scope) {
	r := tr.SourceRange()
	root := tr.RootName()
	attr := func(i int) string {
		if i < len(tr) {
			if a, ok := tr[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
		}
		return ""
	}
	if sc.variable != "" {
		// Before Terraform 1.9 a validation sees its own variable only; a
		// variable read only there is still unused.
		if root != "var" || attr(1) != sc.variable {
			m.report(r, "a validation of variable %q may refer only to var.%s", sc.variable, sc.variable)
		}
		return
	}
	switch root {
	case "var":
		m.lookup(r, "var", attr(1), m.vars[attr(1)] != nil)
	case "local":
		m.lookup(r, "local", attr(1), m.locals[attr(1)] != nil)
	case "module":
		b := m.modules[attr(1)]
		m.lookup(r, "module", attr(1), b != nil)
		m.checkInstanceKey(r, "module."+attr(1), b, tr, 2)
	case "data":
		key := attr(1) + "." + attr(2)
		b := m.data[key]
		m.lookup(r, "data", key, b != nil)
		m.checkInstanceKey(r, "data."+key, b, tr, 3)
	case "path":
		if !slices.Contains([]string{"module", "root", "cwd"}, attr(1)) {
			m.report(r, "unknown path.%s", attr(1))
		}
	case "terraform":
		if attr(1) != "workspace" {
			m.report(r, "unknown terraform.%s", attr(1))
		}
	case "count":
		if !sc.count || attr(1) != "index" {
			m.report(r, "count.%s outside a block with count", attr(1))
		}
	case "each":
		if !sc.each || (attr(1) != "key" && attr(1) != "value") {
			m.report(r, "each.%s outside a block with for_each", attr(1))
		}
	case "self":
		if !sc.self {
			m.report(r, "self outside a postcondition, provisioner or connection")
		}
	default:
		if slices.Contains(sc.iterators, root) {
			return
		}
		if !strings.Contains(root, "_") {
			m.report(r, "unknown reference %s", root)
			return
		}
		key := root + "." + attr(1)
		b := m.resources[key]
		m.lookup(r, "resource", key, b != nil)
		m.checkInstanceKey(r, key, b, tr, 2)
	}
}

func (m *module) lookup(r hcl.Range, kind, name string, ok bool) {
	if !ok {
		m.report(r, "reference to undeclared %s %s", kind, name)
		return
	}
	if kind != "resource" {
		m.used[kind+"."+name] = true
	}
}

// checkInstanceKey: an object with count or for_each is a collection, so a
// reference must index it (or use it whole, as in a splat, length() or
// depends_on); a single object must not be indexed.
func (m *module) checkInstanceKey(r hcl.Range, name string, b *hclsyntax.Block, tr hcl.Traversal, i int) {
	if b == nil || i >= len(tr) {
		return
	}
	_, counted := b.Body.Attributes["count"]
	_, each := b.Body.Attributes["for_each"]
	_, indexed := tr[i].(hcl.TraverseIndex)
	switch {
	case (counted || each) && !indexed:
		m.report(r, "%s has count or for_each: index it, as %s[…]", name, name)
	case !counted && !each && indexed:
		m.report(r, "%s has no count or for_each: it cannot be indexed", name)
	}
}
