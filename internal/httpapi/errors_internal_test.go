package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Every error code the domain declares has an HTTP status: an unmapped code
// is answered 500 and logged as our bug, so this catches it before a user.
func TestEveryErrorCodeHasAStatus(t *testing.T) {
	paths, err := filepath.Glob("../helpdesk/*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range spec.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(spec.Values) {
					continue
				}
				lit, ok := spec.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				code, _ := strconv.Unquote(lit.Value)
				seen++
				if _, mapped := statusByCode[code]; !mapped && code != helpdesk.CodeInternal {
					t.Errorf("helpdesk.%s (%q) has no entry in statusByCode", name.Name, code)
				}
			}
			return true
		})
	}
	if seen < 10 {
		t.Fatalf("found only %d error codes; did the declarations move?", seen)
	}
}
