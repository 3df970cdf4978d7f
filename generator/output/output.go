// Package output puts rendered files on disk, or compares them with what is
// there. Writing is all-or-nothing per file set: every changed file is first
// written beside its target, and only when all of them are written are they
// renamed into place, so a failure leaves the previous bundle as it was.
// dbmon owns exactly the files listed in .dbmon/manifest.json; stale owned
// files are pruned, and files that dbmon did not write are never touched.
package output

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
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

// readManifest returns the owned paths of the bundle in dir; none when the
// bundle has no manifest yet.
func readManifest(dir string) (map[string]bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ManifestPath)))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not a dbmon manifest: %v", ManifestPath, err)
	}
	owned := map[string]bool{}
	for _, e := range m.Files {
		if !safeRelPath(e.Path) {
			return nil, fmt.Errorf("%s: unsafe path %q", ManifestPath, e.Path)
		}
		owned[e.Path] = true
	}
	owned[ManifestPath] = true
	return owned, nil
}

// safeRelPath rejects absolute paths and paths that leave the bundle, so a
// tampered manifest cannot make dbmon delete files elsewhere.
func safeRelPath(p string) bool {
	return p != "" && !path.IsAbs(p) && path.Clean(p) == p && p != ".." && !strings.HasPrefix(p, "../")
}

// Result counts what Write did.
type Result struct {
	Written, Unchanged, Removed []string
}

// Write makes dir hold exactly files (which must include the manifest) among
// the files dbmon owns. force allows overwriting files dbmon did not write.
func Write(dir string, files []render.File, force bool) (*Result, error) {
	owned, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var changed []render.File
	var conflicts []string
	for _, f := range files {
		target := filepath.Join(dir, filepath.FromSlash(f.Path))
		old, err := os.ReadFile(target)
		switch {
		case err == nil && bytes.Equal(old, f.Data):
			res.Unchanged = append(res.Unchanged, f.Path)
			continue
		case err == nil && !owned[f.Path] && !force:
			conflicts = append(conflicts, f.Path)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
		changed = append(changed, f)
	}
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("refusing to overwrite files that dbmon did not write (use --force to overwrite): %s", strings.Join(conflicts, ", "))
	}

	// Phase 1: write every changed file next to its target.
	temps := make([]string, 0, len(changed))
	cleanup := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for _, f := range changed {
		target := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			cleanup()
			return nil, err
		}
		tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".dbmon-*")
		if err != nil {
			cleanup()
			return nil, err
		}
		temps = append(temps, tmp.Name())
		if _, err := tmp.Write(f.Data); err != nil {
			tmp.Close()
			cleanup()
			return nil, fmt.Errorf("write %s: %w", f.Path, err)
		}
		if err := tmp.Close(); err != nil {
			cleanup()
			return nil, fmt.Errorf("write %s: %w", f.Path, err)
		}
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			cleanup()
			return nil, err
		}
	}
	// Phase 2: rename into place. The manifest sorts among the files; it is
	// renamed last so an interruption leaves the old manifest, which still
	// lists every file an older run owned.
	order := make([]int, len(changed))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return changed[order[a]].Path != ManifestPath && changed[order[b]].Path == ManifestPath
	})
	for _, i := range order {
		target := filepath.Join(dir, filepath.FromSlash(changed[i].Path))
		if err := os.Rename(temps[i], target); err != nil {
			cleanup()
			return nil, fmt.Errorf("replace %s: %w", changed[i].Path, err)
		}
		res.Written = append(res.Written, changed[i].Path)
	}
	sort.Strings(res.Written)

	// Phase 3: prune owned files that are no longer generated.
	for _, stale := range staleFiles(owned, files) {
		target := filepath.Join(dir, filepath.FromSlash(stale))
		if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove stale %s: %w", stale, err)
		}
		res.Removed = append(res.Removed, stale)
		removeEmptyParents(dir, filepath.Dir(target))
	}
	return res, nil
}

func staleFiles(owned map[string]bool, files []render.File) []string {
	now := map[string]bool{}
	for _, f := range files {
		now[f.Path] = true
	}
	var stale []string
	for p := range owned {
		if !now[p] {
			stale = append(stale, p)
		}
	}
	sort.Strings(stale)
	return stale
}

// removeEmptyParents removes dir and its parents up to root while empty.
func removeEmptyParents(root, dir string) {
	root = filepath.Clean(root)
	for d := filepath.Clean(dir); d != root && strings.HasPrefix(d, root); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return
		}
	}
}

// Check compares files with dir and returns a unified diff of every
// difference: changed, missing and stale owned files. An empty diff means
// the bundle is up to date. It writes nothing.
func Check(dir string, files []render.File) (string, error) {
	owned, err := readManifest(dir)
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
		old, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
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
		old, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(stale)))
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
