package output

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbmon/dbmon/generator/render"
)

func files(version string) []render.File {
	return WithManifest([]render.File{
		{Path: "databricks.yml", Data: []byte("bundle: " + version + "\n")},
		{Path: "resources/jobs.yml", Data: []byte("jobs: " + version + "\n")},
		{Path: "src/pipeline/bronze/a.sql", Data: []byte("-- " + version + "\n")},
	})
}

func read(t *testing.T, dir, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestWriteFailureLeavesPreviousBundle makes the write fail part-way (a file
// stands where a directory must go) and requires every earlier file, and the
// manifest, to be exactly as the previous run left them, with no temp files.
func TestWriteFailureLeavesPreviousBundle(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, files("v1"), false); err != nil {
		t.Fatal(err)
	}
	manifest := read(t, dir, ManifestPath)
	bronze := filepath.Join(dir, "src/pipeline/bronze")
	if err := os.RemoveAll(bronze); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bronze, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, files("v2"), false); err == nil {
		t.Fatal("Write succeeded with a file where a directory must be")
	}
	if got := read(t, dir, "databricks.yml"); got != "bundle: v1\n" {
		t.Errorf("databricks.yml = %q after a failed write, want the v1 content", got)
	}
	if got := read(t, dir, ManifestPath); got != manifest {
		t.Errorf("manifest changed after a failed write")
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if strings.Contains(filepath.Base(p), ".dbmon-") {
			t.Errorf("temp file left behind: %s", p)
		}
		return nil
	})
}

// TestPruneOnlyOwned removes a file that the previous manifest lists and the
// new output lacks, and keeps a file the user added.
func TestPruneOnlyOwned(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, files("v1"), false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resources/mine.yml"), []byte("user"), 0o644); err != nil {
		t.Fatal(err)
	}
	fewer := WithManifest([]render.File{{Path: "databricks.yml", Data: []byte("bundle: v1\n")}})
	res, err := Write(dir, fewer, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Removed, ",") != "resources/jobs.yml,src/pipeline/bronze/a.sql" {
		t.Errorf("removed %v", res.Removed)
	}
	if _, err := os.Stat(filepath.Join(dir, "src")); !os.IsNotExist(err) {
		t.Errorf("empty src/ left behind: %v", err)
	}
	if read(t, dir, "resources/mine.yml") != "user" {
		t.Error("user file changed")
	}
	if diff, err := Check(dir, fewer); err != nil || diff != "" {
		t.Errorf("Check after Write: diff %q, err %v", diff, err)
	}
}

// TestManifestCannotEscape refuses a manifest that lists a path outside the
// bundle, so a tampered manifest cannot make dbmon delete other files.
func TestManifestCannotEscape(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".dbmon"), 0o755)
	bad := `{"generator":"dbmon","files":[{"path":"../outside.txt","sha256":""}]}`
	os.WriteFile(filepath.Join(dir, ManifestPath), []byte(bad), 0o644)
	if _, err := Write(dir, files("v1"), false); err == nil || !strings.Contains(err.Error(), "unsafe path") {
		t.Errorf("Write with an escaping manifest: %v", err)
	}
}

func TestCheckDiff(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, files("v1"), false); err != nil {
		t.Fatal(err)
	}
	diff, err := Check(dir, files("v2"))
	if err != nil {
		t.Fatal(err)
	}
	want := "--- a/databricks.yml\n+++ b/databricks.yml\n@@ -1 +1 @@\n-bundle: v1\n+bundle: v2\n"
	if !strings.HasPrefix(diff, want) {
		t.Errorf("diff starts\n%s\nwant\n%s", diff, want)
	}
	if got := read(t, dir, "databricks.yml"); got != "bundle: v1\n" {
		t.Error("Check wrote to disk")
	}
}
