// Command codesize prints the size of the non-test Go code under a folder:
// lines and files per firmware package, and the median and p90 lengths of
// functions and files (nearest rank). The figures of the house issue.
//
//	go run ./hack/codesize [-product] [DIR]
//
// -product leaves out hack/.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// percentile is the nearest-rank p-th percentile of xs (sorted in place).
func percentile(xs []int, p float64) int {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(p*float64(len(xs)-1) + 0.5)
	return xs[i]
}

func main() {
	product := flag.Bool("product", false, "leave out hack/")
	flag.Parse()
	root := cmp.Or(flag.Arg(0), ".")
	var funcs, files []int
	pkgLines, pkgFiles := map[string]int{}, map[string]int{}
	total := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && rel != "." && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") ||
			(*product && rel == "hack")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		n := fset.File(f.Pos()).LineCount()
		files, total = append(files, n), total+n
		pkgLines[filepath.Dir(rel)] += n
		pkgFiles[filepath.Dir(rel)]++
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil {
				funcs = append(funcs, fset.Position(fd.End()).Line-fset.Position(fd.Pos()).Line+1)
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "codesize:", err)
		os.Exit(1)
	}
	fmt.Printf("files %d, lines %d; functions %d: median %d p90 %d; files: median %d p90 %d\n",
		len(files), total, len(funcs), percentile(funcs, .5), percentile(funcs, .9), percentile(files, .5), percentile(files, .9))
	for _, pkg := range slices.Sorted(maps.Keys(pkgLines)) {
		if pkg == "firmware" || strings.HasPrefix(pkg, "firmware/") {
			fmt.Printf("  %-28s %5d lines %3d files\n", pkg, pkgLines[pkg], pkgFiles[pkg])
		}
	}
}
