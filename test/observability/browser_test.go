//go:build obs

package observability

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium.
const chromiumPath = "/usr/bin/chromium"

// TestDashboardInBrowser loads the dashboard in a real headless Chromium,
// changes the dynamic file to add a router and a broken one, and checks
// that both appear (the broken one with the file line of its problem). It
// saves a screenshot in the test's temporary directory, or in
// $OBS_SCREENSHOT_DIR when set, to look at.
func TestDashboardInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if _, err := exec.LookPath("chromium"); err != nil {
			skipOrFail(t, "chromium not installed (Debian package chromium)")
		}
	}
	be := okBackend(t)
	b := startBerth(t, appConfig(be, ""), "--api.insecure=true", "--metrics.prometheus=true")
	for range 5 {
		get(t, "GET", b.web+"/", "app.localhost", nil)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.admin+"/"),
		chromedp.WaitVisible(chromedp.CSS(`article[aria-label="router app@file"]`)),
	); err != nil {
		t.Fatalf("loading the dashboard: %v\nberth log:\n%s", err, b.log())
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "No configuration problems") || !strings.Contains(text, be) {
		t.Errorf("first view lacks the server or the no-problem note:\n%s", text)
	}

	b.writeDynamic(appConfig(be, `    added:
      rule: "Host(`+"`added.localhost`"+`) && PathPrefix(`+"`/shop`"+`)"
      service: app
    broken:
      rule: "Host(`+"`broken.localhost`"+`"
      service: app
`))
	// Traffic between two polls gives the dashboard a rate to show.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			req, _ := newReq(b.web+"/", "app.localhost")
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`article[aria-label="router added@file"]`)),
		chromedp.WaitVisible(chromedp.CSS(`article[aria-label="router broken@file"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#problem-0`)),
		chromedp.Sleep(4500*time.Millisecond), // two more polls, for rates
	)
	close(stop)
	<-done
	if err != nil {
		t.Fatalf("waiting for the new routers: %v", err)
	}
	if text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"added@file", "PathPrefix(`/shop`)", "broken@file", "dynamic.yml:10:7",
		"missing \")\" to close", "req/s", "in flight", "Problems (1)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("OBS_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "dashboard.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
	if t.Failed() {
		t.Logf("page text:\n%s", text)
	}
}
