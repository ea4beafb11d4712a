//go:build !probeonly

package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestUsageListsEveryCommand: `jangkau -h` lists every command that run
// and runServerCommand dispatch (the case labels of their switches on
// cmd), so that an operator finds store and spool without reading the code.
func TestUsageListsEveryCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-h"}, &out, &errOut); code != 0 {
		t.Fatalf("jangkau -h: exit %d, stderr %q", code, errOut.String())
	}
	help := out.String()
	var cmds []string
	for _, file := range []string{"main.go", "server.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sw, ok := n.(*ast.SwitchStmt)
			if !ok {
				return true
			}
			if id, ok := sw.Tag.(*ast.Ident); !ok || id.Name != "cmd" {
				return true
			}
			for _, st := range sw.Body.List {
				for _, e := range st.(*ast.CaseClause).List {
					if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						c, _ := strconv.Unquote(lit.Value)
						if !strings.HasPrefix(c, "-") && c != "help" {
							cmds = append(cmds, c)
						}
					}
				}
			}
			return true
		})
	}
	if len(cmds) < 8 {
		t.Fatalf("found only the commands %q in main.go and server.go; has the dispatch moved?", cmds)
	}
	for _, c := range cmds {
		if !strings.Contains(help, "\n  jangkau "+c+" ") {
			t.Errorf("usage has no line for %q:\n%s", c, help)
		}
	}
}
