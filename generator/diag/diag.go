// Package diag holds the problems found in a spec, each tied to a position
// in the file and a path in the document, and prints them the way compilers
// do: FILE:LINE:COL: PATH: message.
package diag

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Diagnostic is one problem in a spec. Line and Col are 1-based; 0 means the
// position is unknown (the problem concerns the whole file).
type Diagnostic struct {
	File    string
	Line    int
	Col     int
	Path    string // document path such as teams[1].match.job_name; empty for the whole file
	Message string
}

// String formats the diagnostic as FILE:LINE:COL: PATH: message.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, d.Col)
	}
	b.WriteString(": ")
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// List is a set of diagnostics. The zero value is ready to use.
type List []Diagnostic

// Add appends a diagnostic.
func (l *List) Add(d Diagnostic) { *l = append(*l, d) }

// Sorted returns the diagnostics ordered by position, then path and message,
// with exact duplicates and second reports at the same position and path
// removed (the schema and the semantic rules may both notice one mistake; the
// first, more basic report wins).
func (l List) Sorted() List {
	out := make(List, len(l))
	copy(out, l)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Path < b.Path
	})
	dedup := out[:0]
	for i, d := range out {
		if i > 0 {
			p := dedup[len(dedup)-1]
			if p.File == d.File && p.Line == d.Line && p.Col == d.Col && p.Path == d.Path {
				continue
			}
		}
		dedup = append(dedup, d)
	}
	return dedup
}

// Print writes every diagnostic, one per line, in sorted order.
func (l List) Print(w io.Writer) {
	for _, d := range l.Sorted() {
		fmt.Fprintln(w, d.String())
	}
}

// Error makes a List usable as an error. It joins the sorted diagnostics.
func (l List) Error() string {
	var lines []string
	for _, d := range l.Sorted() {
		lines = append(lines, d.String())
	}
	return strings.Join(lines, "\n")
}
