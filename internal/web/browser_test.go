package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/rootguard/rootguard/internal/audit"
	"github.com/rootguard/rootguard/internal/detect"
)

// chromium finds the browser. In CI (CI=true) a missing browser fails the
// test: .ci/run installs it. Elsewhere the test skips with a message.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: install it (apt-get install chromium) to run the browser tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// screenshotDir is $ROOTGUARD_SCREENSHOTS (kept, for CI artifacts and
// the README), else a temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("ROOTGUARD_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser is one headless Chromium tab with the console recorded.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string

	mu      sync.Mutex
	console []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelA := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx, base: base, shot: screenshotDir(t)}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s (%s)", m, m.URL))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs actions; a failure ends the test.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %.60q: %v", js, err)
	}
	return v
}

// open loads a view and checks it came with no console message.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("footer")))
	b.settled(path)
}

// settled fails the test for any console error or warning so far.
func (b *browser) settled(where string) {
	b.t.Helper()
	time.Sleep(50 * time.Millisecond) // the console events trail the load
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		b.t.Errorf("%s: console: %s", where, m)
	}
	b.console = nil
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// visibleTiles counts the tree's account tiles a reader sees.
const visibleTiles = `[...document.querySelectorAll("#ous li[data-ou]")].filter(li => li.offsetParent !== null).length`

// TestBrowser drives headless Chromium through every view of a
// 1,000-account organization with 30 audits in its history: each view
// loads with no console message, shows the numbers the stored audit (the
// JSON output) gives, the filters work with and without script, and the
// pages pass basic accessibility checks. Screenshots go to
// $ROOTGUARD_SCREENSHOTS when it is set.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	chromium(t)
	sb := newSandbox(t, largeReport(t), 30)
	hs := newTestServer(t, sb)
	b := newBrowser(t, hs.URL)
	rep := sb.Latest
	if len(rep.Accounts) != 1000 {
		t.Fatalf("fixture has %d accounts", len(rep.Accounts))
	}

	// The token link sets the cookie and lands on the overview.
	b.open("/?token=" + testToken)
	if loc := eval[string](b, `location.pathname + location.search`); loc != "/" {
		t.Errorf("after the token link: %s, want / without the token", loc)
	}

	t.Run("overview", func(t *testing.T) {
		b.t = t
		b.open("/")
		b.screenshot("overview")
		got := eval[map[string]int](b, `Object.fromEntries([...document.querySelectorAll("#states tr[data-state]")].map(r => [r.dataset.state, +r.cells[1].textContent]))`)
		for _, st := range States {
			want := 0
			for _, a := range rep.Accounts {
				if StateOf(a) == st {
					want++
				}
			}
			if got[string(st)] != want {
				t.Errorf("state %s: page shows %d, the audit has %d", st, got[string(st)], want)
			}
		}
		rows := eval[map[string][]int](b, `Object.fromEntries([...document.querySelectorAll("#controls tr[data-control]")].map(r => [r.dataset.control, [1,2,3,4].map(i => +r.cells[i].textContent)]))`)
		for _, c := range accountControls() {
			tl := rep.Summary.ByControl[c.ID]
			if want := []int{tl.Pass, tl.Fail, tl.NotApplicable, tl.Unknown}; !slices.Equal(rows[c.ID], want) {
				t.Errorf("%s: page shows pass/fail/n.a./unknown %v, the audit has %v", c.ID, rows[c.ID], want)
			}
		}
		// The trend: one band per state, one point per audit, drawn.
		trend := eval[[]int](b, `(() => { const s = document.querySelector("svg#trend"); if (!s) return [0,0,0];
			const p = s.querySelector("polygon"); return [s.querySelectorAll("polygon").length, p ? p.getAttribute("points").trim().split(/\s+/).length : 0, Math.round(s.getBoundingClientRect().width)] })()`)
		if trend[0] != len(States) || trend[1] != 2*sb.Runs || trend[2] < 300 {
			t.Errorf("trend chart: %d bands, %d points in the first, %d px wide; want %d bands of %d points, drawn", trend[0], trend[1], trend[2], len(States), 2*sb.Runs)
		}
		accessible(b, "overview")
		keyboard(b)
	})

	t.Run("tree", func(t *testing.T) {
		b.t = t
		b.open("/tree")
		b.screenshot("tree")
		if n := eval[int](b, visibleTiles); n != len(rep.Accounts) {
			t.Fatalf("tree shows %d accounts, want %d", n, len(rep.Accounts))
		}
		count := func(keep func(*audit.Account) bool) int {
			n := 0
			for _, a := range rep.Accounts {
				if keep(a) {
					n++
				}
			}
			return n
		}
		fails := func(a *audit.Account, id string) bool {
			return slices.ContainsFunc(a.Controls, func(c audit.Control) bool { return c.ID == id && c.Outcome == audit.Fail })
		}
		keys := count(func(a *audit.Account) bool { return StateOf(a) == StateKeys })
		keysIAM4 := count(func(a *audit.Account) bool { return StateOf(a) == StateKeys && fails(a, "IAM.4") })
		if keys == 0 || keysIAM4 == 0 {
			t.Fatalf("fixture: %d accounts with keys, %d of them failing IAM.4; the filter test needs some", keys, keysIAM4)
		}
		// With script: choosing filters hides tiles at once, and the URL follows.
		choose := func(id, value string) {
			eval[bool](b, fmt.Sprintf(`(() => { const s = document.getElementById(%q); s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, id, value))
		}
		choose("f-state", string(StateKeys))
		if n := eval[int](b, visibleTiles); n != keys {
			t.Errorf("state filter: %d tiles shown, %d accounts have root access keys", n, keys)
		}
		choose("f-control", "IAM.4")
		if n := eval[int](b, visibleTiles); n != keysIAM4 {
			t.Errorf("state and control filters: %d tiles shown, want %d", n, keysIAM4)
		}
		if got, want := eval[string](b, `document.getElementById("shown").textContent`), fmt.Sprintf("%d of %d", keysIAM4, len(rep.Accounts)); !strings.Contains(got, want) {
			t.Errorf("count line %q, want %q", got, want)
		}
		q := eval[string](b, `location.search`)
		b.screenshot("tree-filtered")
		// Without script (the server applies the same URL): the same tiles.
		b.open("/tree" + q)
		if n := eval[int](b, visibleTiles); n != keysIAM4 {
			t.Errorf("server-side filter %s: %d tiles, want %d", q, n, keysIAM4)
		}
		accessible(b, "tree")

		// One click reaches an account.
		id := eval[string](b, `document.querySelector("#ous li:not([hidden]) a.tile").getAttribute("href").split("/").pop()`)
		b.do("click a tile", chromedp.Click(chromedp.CSS("#ous li:not([hidden]) a.tile")), chromedp.WaitReady(chromedp.CSS("#verdicts")))
		b.settled("account " + id)
		if got := eval[string](b, `location.pathname`); got != "/account/"+id {
			t.Errorf("clicked to %s, want /account/%s", got, id)
		}
	})

	t.Run("account", func(t *testing.T) {
		b.t = t
		a := findAccount(rep, sb.Findings[1].Account)
		b.open("/account/" + a.ID)
		b.screenshot("account")
		if h := eval[string](b, `document.querySelector("h1").textContent`); !strings.Contains(h, a.ID) || !strings.Contains(h, a.Name) {
			t.Errorf("heading %q lacks %s %s", h, a.ID, a.Name)
		}
		body := eval[string](b, `document.querySelector("#verdicts").innerText`)
		for _, c := range a.Controls {
			if !strings.Contains(body, c.ID) {
				t.Errorf("verdicts lack %s", c.ID)
			}
		}
		main := eval[string](b, `document.querySelector("main").innerText`)
		for _, want := range []string{"DeleteBucketPolicy", "CreateUser"} {
			if !strings.Contains(main, want) {
				t.Errorf("account page lacks its root session's %s", want)
			}
		}
		accessible(b, "account")
	})

	t.Run("activity", func(t *testing.T) {
		b.t = t
		b.open("/activity")
		b.screenshot("activity")
		incidents := `[...document.querySelectorAll("#incidents li.incident")].filter(li => li.offsetParent !== null).length`
		// The fixture: one approved root session (three findings) and two
		// unapproved console sign-ins.
		unapproved := 0
		for _, f := range sb.Findings {
			if f.Session == nil && f.Approval.Status != detect.Approved {
				unapproved++
			}
		}
		if n := eval[int](b, incidents); n != unapproved+1 {
			t.Errorf("%d incidents shown, want %d", n, unapproved+1)
		}
		if n := eval[int](b, `[...document.querySelectorAll("#incidents .ihead .badge.o-fail")].filter(e => e.textContent.includes("⚠")).length`); n != 1 {
			t.Errorf("%d sessions marked with actions outside the task policy, want 1", n)
		}
		b.do("tick unapproved", chromedp.Click(chromedp.CSS("#f-unapproved")))
		if n := eval[int](b, incidents); n != unapproved {
			t.Errorf("unapproved filter: %d incidents shown, want %d", n, unapproved)
		}
		b.do("account filter", chromedp.Click(chromedp.CSS("#f-unapproved")), chromedp.SendKeys(chromedp.CSS("#f-account"), sb.Findings[3].Account))
		if n := eval[int](b, incidents); n != 1 {
			t.Errorf("account filter: %d incidents shown, want 1", n)
		}
		b.settled("activity filters")
		accessible(b, "activity")
	})

	t.Run("approvals", func(t *testing.T) {
		b.t = t
		b.open("/approvals")
		b.screenshot("approvals")
		got := eval[map[string][]string](b, `Object.fromEntries([...document.querySelectorAll("section[data-status]")].map(s => [s.dataset.status, [...s.querySelectorAll("tbody tr td:first-child")].map(td => td.textContent)]))`)
		// CHG-2001's window has passed and a root session used it;
		// CHG-2002's window holds now; CHG-2003's starts tomorrow.
		want := map[string][]string{"used": {"CHG-2001"}, "active": {"CHG-2002"}, "scheduled": {"CHG-2003"}, "expired": nil, "pending": nil}
		for st, ids := range want {
			if !slices.Equal(got[st], ids) {
				t.Errorf("%s approvals: %v, want %v (all: %v)", st, got[st], ids, got)
			}
		}
		accessible(b, "approvals")
	})

	t.Run("operations", func(t *testing.T) {
		b.t = t
		b.open("/operations")
		b.screenshot("operations")
		got := eval[[]int](b, `[document.querySelectorAll("#runs li.run").length, document.querySelectorAll("#runs li.run tbody tr").length, document.querySelectorAll("#runs .r-failed").length]`)
		if !slices.Equal(got, []int{1, 6, 1}) {
			t.Errorf("operations: runs, steps, failed steps = %v, want [1 6 1]", got)
		}
		accessible(b, "operations")
	})

	t.Run("japanese", func(t *testing.T) {
		b.t = t
		b.open("/")
		b.do("toggle language", chromedp.Click(chromedp.CSS("a.lang")), chromedp.WaitReady(chromedp.CSS("footer")))
		b.settled("ja")
		if lang := eval[string](b, `document.documentElement.lang`); lang != "ja" {
			t.Errorf("after the toggle the page is %q", lang)
		}
		b.screenshot("overview-ja")
		// Japanese glyphs render as glyphs, not as the boxes a machine
		// without a CJK font draws (.ci/run installs fonts-noto-cjk): each
		// character of the heading, drawn in the heading's font, must differ
		// from a private-use character no font has.
		tofu := eval[[]string](b, `(() => {
			const h = document.querySelector("h1"), font = getComputedStyle(h).font;
			const draw = ch => {
				const c = document.createElement("canvas"); c.width = c.height = 64;
				const x = c.getContext("2d"); x.font = font; x.textBaseline = "top"; x.fillText(ch, 4, 4);
				return Array.from(x.getImageData(0, 0, 64, 64).data).join(",");
			};
			const none = draw("\u{10FFFD}");
			return [...h.textContent.trim()].filter(ch => ch.charCodeAt(0) > 0x2e80 && draw(ch) === none);
		})()`)
		if len(tofu) > 0 {
			t.Errorf("Japanese renders as boxes (no CJK font: apt-get install fonts-noto-cjk): %q", tofu)
		}
		b.open("/tree")
		if lang := eval[string](b, `document.documentElement.lang`); lang != "ja" {
			t.Errorf("the toggle did not stick: the next page is %q", lang)
		}
	})
}

func findAccount(rep *audit.Report, id string) *audit.Account {
	for _, a := range rep.Accounts {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// a11yJS lists what the page gets wrong: form controls without a label,
// images and links without a name, and text whose contrast against its
// background is below WCAG 2 AA (4.5:1, 3:1 for large text).
const a11yJS = `(() => {
  const out = [];
  const name = e => (e.getAttribute("aria-label") || e.getAttribute("title") || e.textContent || e.getAttribute("alt") || "").trim();
  for (const e of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby")) out.push("unlabelled " + e.outerHTML.slice(0, 80));
  }
  for (const e of document.querySelectorAll("a[href], button, svg[role=img], img")) {
    if (!name(e) && !e.querySelector("title")) out.push("no accessible name: " + e.outerHTML.slice(0, 80));
  }
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); }); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    if (!n.textContent.trim() || !e || seen.has(e) || e.closest("svg") || e.closest(".sr") || e.offsetParent === null) continue;
    seen.add(e);
    const st = getComputedStyle(e);
    const fg = rgb(st.color), b = bg(e);
    const a = fg.length > 3 ? fg[3] : 1;
    const mix = fg.slice(0, 3).map((x, i) => x * a + b[i] * (1 - a));
    const l1 = lum(mix), l2 = lum(b);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize), bold = +st.fontWeight >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) out.push("contrast " + ratio.toFixed(2) + " < " + need + ": " + st.color + " on rgb(" + b.join(",") + ") " + JSON.stringify(n.textContent.trim().slice(0, 40)));
  }
  if (!document.documentElement.lang) out.push("no lang on <html>");
  if (!document.querySelector("main")) out.push("no <main>");
  if (document.querySelectorAll("h1").length !== 1) out.push(document.querySelectorAll("h1").length + " h1 elements");
  return [...new Set(out)].slice(0, 15);
})()`

func accessible(b *browser, view string) {
	b.t.Helper()
	for _, p := range eval[[]string](b, a11yJS) {
		b.t.Errorf("%s: accessibility: %s", view, p)
	}
}

// keyboard checks that Tab first reaches the skip link, shown, and then
// walks the navigation with a visible focus ring.
func keyboard(b *browser) {
	b.t.Helper()
	const focused = `(() => { const e = document.activeElement; const s = getComputedStyle(e); const r = e.getBoundingClientRect();
		return {tag: e.tagName, cls: e.className, text: (e.textContent || "").trim().slice(0, 30), ring: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== "none", onscreen: r.width > 0 && r.bottom > 0 && r.top < innerHeight && r.left >= 0} })()`
	type focus struct {
		Tag      string
		Cls      string
		Text     string
		Ring     bool
		Onscreen bool
	}
	b.do("tab", chromedp.KeyEvent(kb.Tab))
	f := eval[focus](b, focused)
	if f.Tag != "A" || f.Cls != "skip" || !f.Onscreen || !f.Ring {
		b.t.Errorf("first Tab: focus on %+v, want the skip link, on screen with a focus ring", f)
	}
	for i := range 6 {
		b.do("tab", chromedp.KeyEvent(kb.Tab))
		f := eval[focus](b, focused)
		if f.Tag == "BODY" || !f.Ring || !f.Onscreen {
			b.t.Errorf("Tab %d: focus on %+v without a visible focus ring", i+2, f)
		}
	}
}
