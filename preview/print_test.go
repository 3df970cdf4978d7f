package preview

import (
	"fmt"
	"strings"
	"testing"
)

// TestPlainText: what the preview prints from data (a job named with an
// escape sequence, a right-to-left override in an error) reaches the
// terminal as \u escapes; line breaks and tabs stay, and the byte count
// returned is the caller's.
func TestPlainText(t *testing.T) {
	var out strings.Builder
	w := PlainText(&out)
	n, err := fmt.Fprintf(w, "  %-10s %s\n", "job\x1b[2J", "error\u202etxt.exe\tok\r")
	if err != nil || n != len("  job\x1b[2J    error\u202etxt.exe\tok\r\n") {
		t.Fatalf("Fprintf = %d, %v", n, err)
	}
	fmt.Fprint(w, "line one\nline two\n")
	want := "  job\\u001B[2J    error\\u202Etxt.exe\tok\\u000D\nline one\nline two\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}
