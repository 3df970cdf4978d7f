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
	"strconv"
	"strings"

	"github.com/dbmon/dbmon/generator/render"
)

// readManifest returns the owned paths of the bundle in dir with the
// SHA-256 (hex) of the content dbmon wrote; none when the bundle has no
// manifest yet. An entry without a digest (an older manifest) is owned but
// cannot be checked for hand edits.
func readManifest(fsys FS, dir string) (map[string]string, error) {
	data, err := fsys.ReadFile(filepath.Join(dir, filepath.FromSlash(ManifestPath)))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not a dbmon manifest: %v", ManifestPath, err)
	}
	owned := map[string]string{}
	for _, e := range m.Files {
		if !safeRelPath(e.Path) || e.Path == LockPath {
			return nil, fmt.Errorf("%s: unsafe path %q", ManifestPath, e.Path)
		}
		owned[e.Path] = e.SHA256
	}
	owned[ManifestPath] = ""
	return owned, nil
}

// safeRelPath rejects absolute paths and paths that leave the bundle, so a
// tampered manifest cannot make dbmon delete files elsewhere.
func safeRelPath(p string) bool {
	return p != "" && !path.IsAbs(p) && path.Clean(p) == p && p != ".." && !strings.HasPrefix(p, "../")
}

// editedByHand reports whether data, the content of an owned file on disk,
// differs from what the manifest says dbmon wrote.
func editedByHand(data []byte, digest string) bool {
	if digest == "" {
		return false
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) != digest
}

// Result counts what Write did.
type Result struct {
	Written, Unchanged, Removed []string
}

// Write makes dir hold exactly files (which must include the manifest) among
// the files dbmon owns, on the real file system.
func Write(dir string, files []render.File, force bool) (*Result, error) {
	return WriteFS(OS, dir, files, force)
}

// WriteFS is Write on fsys. Without force it refuses, before writing
// anything, to overwrite a file that dbmon did not write, and to overwrite
// or prune an owned file edited by hand since dbmon wrote it; force allows
// both. Any failure leaves dir as it was.
func WriteFS(fsys FS, dir string, files []render.File, force bool) (*Result, error) {
	w := &writer{fs: fsys, dir: dir, suffix: strconv.Itoa(os.Getpid())}
	res, err := w.write(files, force)
	if err != nil {
		if rerr := w.rollback(); rerr != nil {
			err = fmt.Errorf("%w\n%v", err, rerr)
		}
		return nil, err
	}
	return res, nil
}

// writer holds what one Write changed so far, to undo it on failure.
type writer struct {
	fs     FS
	dir    string
	suffix string // makes this run's temporary names unique

	locked  bool
	created []string // directories this run created, parents first
	temps   []string // new files not yet moved into place
	moves   []move   // completed steps, in order
}

// move is one step of replacing the bundle: target was moved to aside (if
// it existed) and, for a written file, the new file moved to target.
type move struct {
	target, aside string
	placed        bool // the new file is at target
}

func (w *writer) path(rel string) string { return filepath.Join(w.dir, filepath.FromSlash(rel)) }

func (w *writer) write(files []render.File, force bool) (*Result, error) {
	if err := w.mkdirs(w.path(".dbmon")); err != nil {
		return nil, err
	}
	if err := w.acquireLock(); err != nil {
		return nil, err
	}
	owned, err := readManifest(w.fs, w.dir)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var changed []render.File
	var notOurs, edited []string
	for _, f := range files {
		old, err := w.fs.ReadFile(w.path(f.Path))
		switch {
		case err == nil && bytes.Equal(old, f.Data):
			res.Unchanged = append(res.Unchanged, f.Path)
			continue
		case err == nil && force:
		case err == nil:
			if digest, ok := owned[f.Path]; !ok {
				notOurs = append(notOurs, f.Path)
			} else if editedByHand(old, digest) {
				edited = append(edited, w.path(f.Path)+" edited by hand since dbmon wrote it; run with --force to overwrite, or move your changes into the spec")
			}
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
		changed = append(changed, f)
	}
	var stale []string
	for _, p := range staleFiles(owned, files) {
		old, err := w.fs.ReadFile(w.path(p))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !force && editedByHand(old, owned[p]) {
			edited = append(edited, w.path(p)+" edited by hand since dbmon wrote it, and the spec no longer generates it; run with --force to delete it, or move it out of "+w.dir)
			continue
		}
		stale = append(stale, p)
	}
	if len(notOurs) > 0 {
		edited = append(edited, "refusing to overwrite files that dbmon did not write (use --force to overwrite): "+strings.Join(notOurs, ", "))
	}
	if len(edited) > 0 {
		return nil, errors.New(strings.Join(edited, "\n"))
	}

	// Every new file beside its target first: most failures (a full disk,
	// a read-only folder) happen here, before the bundle changed at all.
	temps := make([]string, len(changed))
	for i, f := range changed {
		target := w.path(f.Path)
		if err := w.mkdirs(filepath.Dir(target)); err != nil {
			return nil, err
		}
		tmp := filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".dbmon-new-"+w.suffix)
		w.temps = append(w.temps, tmp)
		if err := w.fs.WriteNew(tmp, f.Data, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.Path, err)
		}
		temps[i] = tmp
	}
	// A rename of an unsynced file can survive a power cut that its content
	// does not: every new file is on disk before the first rename.
	if err := w.fs.Sync(temps); err != nil {
		return nil, fmt.Errorf("flush the new files to disk: %w", err)
	}
	// Then swap them in, prune, and move the manifest last: it is the
	// commit. Until it is in place everything can be moved back.
	manifest := -1
	for i, f := range changed {
		if f.Path == ManifestPath {
			manifest = i
			continue
		}
		if err := w.replace(f.Path, temps[i]); err != nil {
			return nil, err
		}
		res.Written = append(res.Written, f.Path)
	}
	for _, p := range stale {
		if err := w.moveAside(p); err != nil {
			return nil, fmt.Errorf("remove stale %s: %w", p, err)
		}
		res.Removed = append(res.Removed, p)
	}
	if manifest >= 0 {
		if err := w.replace(ManifestPath, temps[manifest]); err != nil {
			return nil, err
		}
		res.Written = append(res.Written, ManifestPath)
	}
	sort.Strings(res.Written)
	return res, w.commit(stale)
}

// replace moves the file at rel (if any) aside and tmp into its place.
func (w *writer) replace(rel, tmp string) error {
	if err := w.moveAside(rel); err != nil {
		return fmt.Errorf("replace %s: %w", rel, err)
	}
	m := &w.moves[len(w.moves)-1]
	if err := w.fs.Rename(tmp, m.target); err != nil {
		return fmt.Errorf("replace %s: %w", rel, err)
	}
	m.placed = true
	w.temps = slicesDelete(w.temps, tmp)
	return nil
}

// moveAside renames the file at rel to a name beside it and records the
// step; a file that does not exist is recorded with no aside.
func (w *writer) moveAside(rel string) error {
	target := w.path(rel)
	m := move{target: target}
	if _, err := w.fs.Stat(target); err == nil {
		aside := filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".dbmon-old-"+w.suffix)
		if err := w.fs.Rename(target, aside); err != nil {
			return err
		}
		m.aside = aside
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	w.moves = append(w.moves, m)
	return nil
}

// commit deletes the moved-aside files and the folders pruning emptied, and
// releases the lock. The new bundle is complete before it starts, so a
// failure here leaves a stray copy, which the error names, not a mixed
// bundle.
func (w *writer) commit(pruned []string) error {
	var errs []string
	for _, m := range w.moves {
		if m.aside != "" {
			if err := w.fs.Remove(m.aside); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	w.moves = nil
	for _, p := range pruned {
		w.removeEmptyParents(filepath.Dir(w.path(p)))
	}
	if err := w.releaseLock(); err != nil {
		errs = append(errs, err.Error())
	}
	w.created = nil
	if len(errs) > 0 {
		return fmt.Errorf("the bundle in %s is written, but cleaning up failed: %s", w.dir, strings.Join(errs, "; "))
	}
	return nil
}

// rollback undoes every step of a failed write, newest first, and removes
// the new files and the folders this run created. It returns what it could
// not restore.
func (w *writer) rollback() error {
	var errs []string
	for i := len(w.moves) - 1; i >= 0; i-- {
		m := w.moves[i]
		var err error
		switch {
		case m.aside != "":
			err = w.fs.Rename(m.aside, m.target)
		case m.placed:
			err = w.fs.Remove(m.target)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("could not restore %s: %v", m.target, err))
		}
	}
	w.moves = nil
	for _, t := range w.temps {
		if err := w.fs.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Sprintf("could not remove %s: %v", t, err))
		}
	}
	w.temps = nil
	if err := w.releaseLock(); err != nil {
		errs = append(errs, err.Error())
	}
	for i := len(w.created) - 1; i >= 0; i-- {
		_ = w.fs.Remove(w.created[i]) // fails only if not empty: then it is not ours alone
	}
	w.created = nil
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// mkdirs creates dir and its missing parents, remembering which it created.
func (w *writer) mkdirs(dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		info, err := w.fs.Stat(d)
		if err == nil {
			if !info.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := w.fs.Mkdir(missing[i], 0o755); err != nil {
			// Another run may have created it since the Stat: not ours.
			if info, serr := w.fs.Stat(missing[i]); errors.Is(err, fs.ErrExist) && serr == nil && info.IsDir() {
				continue
			}
			return err
		}
		w.created = append(w.created, missing[i])
	}
	return nil
}

// removeEmptyParents removes dir and its parents up to the bundle root
// while they are empty.
func (w *writer) removeEmptyParents(dir string) {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		rel, err := filepath.Rel(w.dir, d)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return
		}
		if w.fs.Remove(d) != nil {
			return
		}
	}
}

func staleFiles(owned map[string]string, files []render.File) []string {
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

func slicesDelete(s []string, v string) []string {
	for i, x := range s {
		if x == v {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}
