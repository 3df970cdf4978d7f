package htmlreport

import (
	"fmt"
	"io"
	"os"
)

// TerminalProgress returns a Progress callback that redraws one line on w
// when w is a terminal, and nil otherwise: a log or a pipe gets no
// carriage-return noise.
func TerminalProgress(w io.Writer, label string) func(done, total int) {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(f, "\r%s: %d/%d widget queries", label, done, total)
		if done == total {
			fmt.Fprintln(f)
		}
	}
}
