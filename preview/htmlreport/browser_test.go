package htmlreport

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// screenshotDir is where TestChromium writes a PNG of each page:
// $DBMON_SCREENSHOTS, else testdata/out (git-ignored).
func screenshotDir() string {
	if d := os.Getenv("DBMON_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("testdata", "out")
}

// chromium finds the browser. Outside CI a machine without it skips the
// test; in CI (CI set) a missing browser fails it, so the check cannot
// vanish silently.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set but no chromium is on PATH: install the Debian package chromium (.ci/run does)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium); CI runs this test")
	return ""
}

// browser starts a headless Chromium for the test and returns a tab
// context with a laptop-sized viewport.
func browser(t *testing.T) context.Context {
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.DisableGPU,
		chromedp.NoSandbox, // CI containers run as root
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 800)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// console collects a tab's console messages from now on.
type console struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watch(ctx context.Context) *console {
	c := &console{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// errors returns the errors and exceptions seen so far and forgets them.
func (c *console) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, m.String())
		}
	}
	c.msgs = nil
	return out
}

// settle waits until the browser has reported what loading the page
// caused: a round trip after load, then a short pause for the log.
func settle(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete"`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
}

// layoutJS reports, per canvas page, widgets drawn with no size and pairs
// that overlap on screen: the 6-column layout must hold at laptop width.
const layoutJS = `(() => {
  const out = [];
  for (const page of document.querySelectorAll('.page.grid')) {
    const ws = [...page.querySelectorAll(':scope > [data-widget]')].map(e => [e.dataset.widget, e.getBoundingClientRect()]);
    for (const [n, r] of ws) if (r.width < 20 || r.height < 20) out.push(page.id + ': ' + n + ' is ' + r.width + 'x' + r.height);
    for (let i = 0; i < ws.length; i++) for (let j = i + 1; j < ws.length; j++) {
      const a = ws[i][1], b = ws[j][1];
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
        out.push(page.id + ': ' + ws[i][0] + ' overlaps ' + ws[j][0]);
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    out.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
  return JSON.stringify(out);
})()`

// TestChromium loads the file of every example spec in a real headless
// Chromium, in the light and the dark theme: no console error (the file's
// Content-Security-Policy turns any outside reference into one, which the
// test first shows it catches), no widget without a size, no overlap, no
// sideways scrolling, and a screenshot of each page under screenshotDir.
// With DBMON_UPDATE set it also writes docs/preview.png.
func TestChromium(t *testing.T) {
	ctx := browser(t)
	con := watch(ctx)
	tmp := t.TempDir()

	// The detector detects: an outside reference under the same policy is
	// an error.
	bad := filepath.Join(tmp, "bad.html")
	if err := os.WriteFile(bad, []byte(`<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"></head><body><img src="https://example.invalid/x.png"></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+bad)); err != nil {
		t.Fatal(err)
	}
	settle(t, ctx)
	if errs := con.errors(); len(errs) == 0 {
		t.Fatal("a page that loads an outside image gave no console error: the check below could not fail")
	}

	out := screenshotDir()
	for _, path := range specs(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		b := build(t, path)
		file := filepath.Join(tmp, name+".html")
		if err := os.WriteFile(file, b.html, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, theme := range []string{"light", "dark"} {
			if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: theme}}}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file)); err != nil {
				t.Fatal(err)
			}
			settle(t, ctx)
			if errs := con.errors(); len(errs) > 0 {
				t.Errorf("%s (%s): console errors:\n  %s", name, theme, strings.Join(errs, "\n  "))
			}
			dark, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`matchMedia("(prefers-color-scheme: dark)").matches`))
			if err != nil || dark != (theme == "dark") {
				t.Fatalf("%s: the %s theme is not in effect (dark=%v, %v)", name, theme, dark, err)
			}
			js, err := chromedp.Run(ctx, chromedp.Evaluate[string](layoutJS))
			if err != nil {
				t.Fatal(err)
			}
			var problems []string
			if err := json.Unmarshal([]byte(js), &problems); err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("%s (%s): %s", name, theme, p)
			}
			ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-page]')].map(e => e.id)`))
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) < 2 {
				t.Fatalf("%s: %d pages in the file", name, len(ids))
			}
			dir := filepath.Join(out, name, theme)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID(id)))
				if err != nil {
					t.Fatalf("%s: screenshot of %s: %v", name, id, err)
				}
				if err := os.WriteFile(filepath.Join(dir, id+".png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if name == "example" && theme == "light" {
				png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("d-executive_overview")))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "d-executive_overview.png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
				if os.Getenv("DBMON_UPDATE") != "" {
					if err := os.WriteFile(filepath.Join("..", "..", "docs", "preview.png"), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			t.Logf("%s (%s): %d page screenshots in %s", name, theme, len(ids), dir)
		}
	}
}
