// Package output puts rendered files on disk, or compares them with what is
// there. Writing is all-or-nothing: every changed file is first written
// beside its target, then each target is moved aside and the new file moved
// into place, stale files are moved aside, and the manifest goes last. Only
// then are the moved-aside copies deleted; a failure at any step before that
// moves everything back, so the previous bundle stays byte for byte as it
// was. A lock file (.dbmon/lock) keeps two runs from writing one bundle at
// once. dbmon owns exactly the files listed in .dbmon/manifest.json with the
// SHA-256 of what it wrote: stale owned files are pruned, a file whose bytes
// no longer match (edited by hand) is neither overwritten nor pruned without
// force, and files that dbmon did not write are never touched without force.
package output

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/dbmon/dbmon/generator/render"
)

// ManifestPath is where the list of owned files lives in a bundle.
const ManifestPath = ".dbmon/manifest.json"

// Manifest lists the files dbmon generated into a bundle.
type Manifest struct {
	Generator string          `json:"generator"`
	Files     []ManifestEntry `json:"files"`
}

// ManifestEntry is one owned file and the digest of its generated content.
type ManifestEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// WithManifest returns files plus the manifest that lists them.
func WithManifest(files []render.File) []render.File {
	m := Manifest{Generator: "dbmon"}
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		m.Files = append(m.Files, ManifestEntry{Path: f.Path, SHA256: hex.EncodeToString(sum[:])})
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	out := append([]render.File(nil), files...)
	out = append(out, render.File{Path: ManifestPath, Data: append(data, '\n')})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Check compares files with dir and returns a unified diff of every
// difference: changed, missing and stale owned files. An empty diff means
// the bundle is up to date. It writes nothing.
func Check(dir string, files []render.File) (string, error) {
	return CheckFS(OS, dir, files)
}

// CheckFS is Check on fsys.
func CheckFS(fsys FS, dir string, files []render.File) (string, error) {
	owned, err := readManifest(fsys, dir)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	// The manifest's diff only echoes the others' digests; show it last.
	ordered := append([]render.File(nil), files...)
	sort.SliceStable(ordered, func(i, j int) bool {
		return ordered[i].Path != ManifestPath && ordered[j].Path == ManifestPath
	})
	for _, f := range ordered {
		old, err := fsys.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if err == nil && bytes.Equal(old, f.Data) {
			continue
		}
		from := "a/" + f.Path
		if err != nil {
			from = "/dev/null"
		}
		out.WriteString(unified(from, "b/"+f.Path, string(old), string(f.Data)))
	}
	for _, stale := range staleFiles(owned, files) {
		old, err := fsys.ReadFile(filepath.Join(dir, filepath.FromSlash(stale)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		out.WriteString(unified("a/"+stale, "/dev/null", string(old), ""))
	}
	return out.String(), nil
}

func unified(from, to, a, b string) string {
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: splitLines(a), B: splitLines(b),
		FromFile: from, ToFile: to, Context: 3,
	})
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return text
}

// splitLines splits s after each newline. Unlike difflib.SplitLines it adds
// no empty line at the end, which would show up as a spurious context line.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
