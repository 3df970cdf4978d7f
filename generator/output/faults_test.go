package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/dbmon/dbmon/generator/render"
)

// faultFS is the real file system with failures injected into the calls
// that change it (WriteNew, Mkdir, Rename, Remove), counted from 1.
type faultFS struct {
	FS
	mu    sync.Mutex
	calls int
	ops   []string
	// fail decides whether call n (op, path) fails, and with which error.
	fail func(n int, op, path string) error
	// partial makes a failing WriteNew leave half its data behind, as a
	// disk that fills up mid-file does.
	partial bool
}

func (f *faultFS) inject(op, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.ops = append(f.ops, op+" "+path)
	if f.fail == nil {
		return nil
	}
	return f.fail(f.calls, op, path)
}

func (f *faultFS) WriteNew(name string, data []byte, perm fs.FileMode) error {
	if err := f.inject("write", name); err != nil {
		if f.partial {
			_ = f.FS.WriteNew(name, data[:len(data)/2], perm)
		}
		return &fs.PathError{Op: "write", Path: name, Err: err}
	}
	return f.FS.WriteNew(name, data, perm)
}

func (f *faultFS) Mkdir(name string, perm fs.FileMode) error {
	if err := f.inject("mkdir", name); err != nil {
		return &fs.PathError{Op: "mkdir", Path: name, Err: err}
	}
	return f.FS.Mkdir(name, perm)
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	if err := f.inject("rename", oldpath); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return f.FS.Rename(oldpath, newpath)
}

func (f *faultFS) Remove(name string) error {
	if err := f.inject("remove", name); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return f.FS.Remove(name)
}

// snapshot is every directory and every file with its bytes and mode under
// dir: two equal snapshots are byte-identical trees.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[rel+"/"] = info.Mode().String()
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = info.Mode().String() + " " + string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for p, v := range before {
		if w, ok := after[p]; !ok {
			diffs = append(diffs, "missing "+p)
		} else if w != v {
			diffs = append(diffs, fmt.Sprintf("changed %s: %q, was %q", p, w, v))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, "new "+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: the previous bundle changed:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

// v2 changes two files, adds one in a new folder, and drops one (pruned),
// so a write of it exercises every kind of step.
func v2() []render.File {
	return WithManifest([]render.File{
		{Path: "databricks.yml", Data: []byte("bundle: v2\n")},
		{Path: "resources/jobs.yml", Data: []byte("jobs: v2\n")},
		{Path: "src/dashboards/new.lvdash.json", Data: []byte("{}\n")},
	})
}

// countCalls is how many changing calls a successful v1 → v2 write makes.
func countCalls(t *testing.T) int {
	t.Helper()
	dir := t.TempDir()
	if _, err := Write(dir, files("v1"), false); err != nil {
		t.Fatal(err)
	}
	f := &faultFS{FS: OS}
	if _, err := WriteFS(f, dir, v2(), false); err != nil {
		t.Fatal(err)
	}
	t.Logf("a v1 → v2 write: %s", strings.Join(f.ops, ", "))
	return f.calls
}

// Whichever changing call fails, and however (disk full, read-only, a
// half-written file), the previous bundle is left byte for byte as it was,
// with no temporary file, lock or new folder; the next run then succeeds.
func TestAnyFailedCallLeavesPreviousBundle(t *testing.T) {
	n := countCalls(t)
	if n < 12 {
		t.Fatalf("a v1 → v2 write made only %d changing calls", n)
	}
	cases := map[string]func(at int) *faultFS{
		// One call fails with ENOSPC, every other succeeds.
		"disk full once": func(at int) *faultFS {
			return &faultFS{FS: OS, partial: true, fail: func(c int, _, _ string) error {
				if c == at {
					return syscall.ENOSPC
				}
				return nil
			}}
		},
		// From call `at` on the disk is full: no more data can be written,
		// but renames and removes, which need no space, still work.
		"disk full from then on": func(at int) *faultFS {
			return &faultFS{FS: OS, partial: true, fail: func(c int, op, _ string) error {
				if c >= at && (op == "write" || op == "mkdir") {
					return syscall.ENOSPC
				}
				return nil
			}}
		},
		// One call is refused as on a read-only file or folder.
		"read-only once": func(at int) *faultFS {
			return &faultFS{FS: OS, fail: func(c int, _, _ string) error {
				if c == at {
					return syscall.EROFS
				}
				return nil
			}}
		},
	}
	for name, mk := range cases {
		for at := 1; at <= n; at++ {
			dir := t.TempDir()
			if _, err := Write(dir, files("v1"), false); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			f := mk(at)
			_, err := WriteFS(f, dir, v2(), false)
			what := fmt.Sprintf("%s at call %d", name, at)
			if at <= len(f.ops) {
				what += " (" + f.ops[at-1] + ")"
			}
			if err == nil {
				// Only a failure after the commit (the manifest in place) may
				// go unreported: removing a folder that pruning emptied.
				if at <= commitCall(f.ops) && name != "disk full from then on" {
					t.Errorf("%s: Write succeeded", what)
				}
				if diff, cerr := Check(dir, v2()); cerr != nil || diff != "" {
					t.Errorf("%s: Write succeeded but the bundle is not v2: %v\n%s", what, cerr, diff)
				}
				continue
			}
			if strings.Contains(err.Error(), "is written, but cleaning up failed") {
				// A failure after the commit: the new bundle is complete.
				if diff, cerr := Check(dir, v2()); cerr != nil || diff != "" {
					t.Errorf("%s: after the commit the bundle is not v2: %v\n%s", what, cerr, diff)
				}
				continue
			}
			sameTree(t, what, before, snapshot(t, dir))
			if _, err := Write(dir, v2(), false); err != nil {
				t.Errorf("%s: the next run failed: %v", what, err)
			} else if diff, _ := Check(dir, v2()); diff != "" {
				t.Errorf("%s: the next run left drift:\n%s", what, diff)
			}
		}
	}
}

// commitCall is the number of the call that moved the new manifest into
// place.
func commitCall(ops []string) int {
	for i, op := range ops {
		if strings.HasPrefix(op, "rename ") && strings.Contains(op, "manifest.json.dbmon-new-") {
			return i + 1
		}
	}
	return len(ops) + 1
}

// A folder that is read-only from the start: nothing can be created, and
// nothing is.
func TestReadOnlyBundle(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, files("v1"), false); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	f := &faultFS{FS: OS, fail: func(int, string, string) error { return syscall.EROFS }}
	_, err := WriteFS(f, dir, v2(), false)
	if err == nil || !strings.Contains(err.Error(), "read-only file system") {
		t.Errorf("Write on a read-only folder: %v", err)
	}
	sameTree(t, "read-only", before, snapshot(t, dir))
}

// A lock held by a live run (this process stands in for it) stops a second
// run before it reads or writes anything, and names the holder.
func TestLockHeld(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, files("v1"), false); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf(`{"pid":%d,"host":%q,"started":"2026-06-15T14:30:00Z"}`, os.Getpid(), host)
	lock := filepath.Join(dir, LockPath)
	if err := os.WriteFile(lock, []byte(holder), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	_, err := Write(dir, v2(), true)
	var le *LockError
	if !errors.As(err, &le) {
		t.Fatalf("got %v, want a LockError", err)
	}
	want := fmt.Sprintf("%s: another dbmon generate is writing this bundle (pid %d on host %s, started 2026-06-15T14:30:00Z); ", lock, os.Getpid(), host)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got  %s\nwant %s...", err, want)
	}
	sameTree(t, "lock held", before, snapshot(t, dir))
}

// A lock left on this host by a run that no longer exists (killed before it
// could remove it) is stale: the next run takes it over.
func TestStaleLockTakenOver(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, files("v1"), false); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	// Above the kernel's pid_max (at most 2^22), so no process has it.
	dead := 1 << 30
	if processAlive(dead) {
		t.Fatalf("pid %d is alive", dead)
	}
	stale := fmt.Sprintf(`{"pid":%d,"host":%q,"started":"2026-06-15T14:30:00Z"}`, dead, host)
	if err := os.WriteFile(filepath.Join(dir, LockPath), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, v2(), false); err != nil {
		t.Fatalf("Write with a stale lock: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockPath)); !os.IsNotExist(err) {
		t.Errorf("lock left behind: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, ".dbmon"))
	if len(entries) != 1 {
		t.Errorf(".dbmon holds %v, want only the manifest", entries)
	}
	// The same pid on another host may well be running: never taken over.
	other := fmt.Sprintf(`{"pid":%d,"host":"elsewhere","started":"2026-06-15T14:30:00Z"}`, dead)
	os.WriteFile(filepath.Join(dir, LockPath), []byte(other), 0o644)
	var le *LockError
	if _, err := Write(dir, files("v1"), false); !errors.As(err, &le) {
		t.Errorf("a lock from another host was taken over: %v", err)
	}
}

// Concurrent runs into one folder: each either completes or stops at the
// lock, and the folder ends up exactly one run's bundle, never a mix.
func TestConcurrentWritesDoNotInterleave(t *testing.T) {
	dir := t.TempDir()
	const runs = 8
	versions := make([][]render.File, runs)
	for i := range versions {
		var fs []render.File
		for j := 0; j < 30; j++ {
			fs = append(fs, render.File{Path: fmt.Sprintf("src/f%02d.sql", j), Data: []byte(fmt.Sprintf("-- run %d file %d\n", i, j))})
		}
		versions[i] = WithManifest(fs)
	}
	// The first round starts from no folder at all, later ones from the
	// previous round's bundle.
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		errs := make([]error, runs)
		for i := range versions {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = Write(dir, versions[(i+round)%runs], false)
			}(i)
		}
		wg.Wait()
		var won []int
		for i, err := range errs {
			var le *LockError
			switch {
			case err == nil:
				won = append(won, (i+round)%runs)
			case !errors.As(err, &le):
				t.Errorf("round %d, run %d: %v", round, i, err)
			}
		}
		if len(won) == 0 {
			t.Fatalf("round %d: no run completed", round)
		}
		data, err := os.ReadFile(filepath.Join(dir, ManifestPath))
		if err != nil {
			t.Fatal(err)
		}
		final := -1
		for _, v := range won {
			if manifestOf(versions[v]) == string(data) {
				final = v
			}
		}
		if final < 0 {
			t.Fatalf("round %d: the manifest is no completed run's", round)
		}
		if diff, err := Check(dir, versions[final]); err != nil || diff != "" {
			t.Errorf("round %d: the bundle mixes runs (%v):\n%s", round, err, diff)
		}
		if _, err := os.Stat(filepath.Join(dir, LockPath)); !os.IsNotExist(err) {
			t.Errorf("round %d: lock left behind", round)
		}
		t.Logf("round %d: %d of %d runs completed, the others stopped at the lock", round, len(won), runs)
	}
}

func manifestOf(files []render.File) string {
	for _, f := range files {
		if f.Path == ManifestPath {
			return string(f.Data)
		}
	}
	return ""
}

// A hand edit to an owned file stops the write before anything changes;
// --force (force) overwrites it. An owned file edited to exactly what would
// be generated is no conflict.
func TestHandEditRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, files("v1"), false); err != nil {
		t.Fatal(err)
	}
	jobs := filepath.Join(dir, "resources/jobs.yml")
	os.WriteFile(jobs, []byte("jobs: mine\n"), 0o644)
	bronze := filepath.Join(dir, "src/pipeline/bronze/a.sql")
	os.WriteFile(bronze, []byte("-- my query\n"), 0o644)
	before := snapshot(t, dir)
	_, err := Write(dir, v2(), false)
	want := jobs + " edited by hand since dbmon wrote it; run with --force to overwrite, or move your changes into the spec\n" +
		bronze + " edited by hand since dbmon wrote it, and the spec no longer generates it; run with --force to delete it, or move it out of " + dir
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	sameTree(t, "hand edit", before, snapshot(t, dir))

	res, err := Write(dir, v2(), true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Removed, ",") != "src/pipeline/bronze/a.sql" {
		t.Errorf("removed %v", res.Removed)
	}
	if diff, _ := Check(dir, v2()); diff != "" {
		t.Errorf("drift after --force:\n%s", diff)
	}

	// Edited to what the next run generates anyway: nothing to refuse.
	os.WriteFile(filepath.Join(dir, "databricks.yml"), []byte("bundle: v3\n"), 0o644)
	v3 := WithManifest([]render.File{
		{Path: "databricks.yml", Data: []byte("bundle: v3\n")},
		{Path: "resources/jobs.yml", Data: []byte("jobs: v2\n")},
		{Path: "src/dashboards/new.lvdash.json", Data: []byte("{}\n")},
	})
	if _, err := Write(dir, v3, false); err != nil {
		t.Errorf("an edit equal to the new output was refused: %v", err)
	}
}

// The manifest records the digest of every file it lists, which is what
// the hand-edit check compares with.
func TestManifestDigests(t *testing.T) {
	var m Manifest
	fs := files("v1")
	if err := json.Unmarshal([]byte(manifestOf(fs)), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 3 {
		t.Fatalf("manifest lists %d files", len(m.Files))
	}
	for _, e := range m.Files {
		for _, f := range fs {
			if f.Path == e.Path && editedByHand(f.Data, e.SHA256) {
				t.Errorf("%s: digest %s does not match its content", e.Path, e.SHA256)
			}
		}
	}
}
