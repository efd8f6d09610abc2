// Package conntest tests the connection test end to end, as a new user
// tries it: the real `azimuth dev` command (in-process, through the same
// cli.Main the binary runs) starts the Azure simulator and seeds
// connectors; `azimuth connector test` tests each one; the connector's
// status, the simulator's fault injection (429 + Retry-After) and a
// restart of dev on the same directory are checked, and no seeded secret
// value appears in the logs or the command output.
//
//	go test -count=1 -v ./e2e/conntest/
package conntest

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/cli"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// The seeds' secret values (demo values of the simulator's demo world).
var seededValues = []string{"demo-reader-secret-0001", "demo-expired-secret-0003", "demo-norole-secret-0004"}

type syncBuffer = testenv.Buffer

// devInfo is the part of dev.json this test reads.
type devInfo struct {
	URL               string `json:"url"`
	APIKey            string `json:"apiKey"`
	AccountIdentifier string `json:"accountIdentifier"`
	StartedAt         string `json:"startedAt"`
	Simulator         struct {
		World       string `json:"world"`
		CloudConfig string `json:"cloudConfig"`
		Control     string `json:"control"`
		CACert      string `json:"caCert"`
		Clouds      map[string]struct {
			AuthorityHost   string `json:"authorityHost"`
			ResourceManager string `json:"resourceManager"`
		} `json:"clouds"`
	} `json:"simulator"`
	Connectors []struct {
		Identifier      string   `json:"identifier"`
		Scope           string   `json:"scope"`
		Credential      string   `json:"credential"`
		ConnectsThrough string   `json:"connectsThrough"`
		Expect          string   `json:"expect"`
		ExpectReason    string   `json:"expectReason"`
		Secrets         []string `json:"secrets"`
	} `json:"connectors"`
}

// dev is one running `azimuth dev`.
type dev struct {
	dir    string
	cancel context.CancelFunc
	done   chan int
	stdout *syncBuffer
	stderr *syncBuffer
	info   devInfo
}

// startDev runs `azimuth dev` on dir until stop, and waits for its
// dev.json of this start.
func startDev(t *testing.T, dir string) *dev {
	t.Helper()
	infoPath := filepath.Join(dir, "dev.json")
	_ = os.Remove(infoPath)
	ctx, cancel := context.WithCancel(context.Background())
	d := &dev{dir: dir, cancel: cancel, done: make(chan int, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	go func() {
		d.done <- cli.Main(ctx, []string{"dev", "--dir", dir, "--listen", "127.0.0.1:0", "--log-level", "debug"},
			strings.NewReader(""), d.stdout, d.stderr)
	}()
	t.Cleanup(func() { d.stop(t) })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case code := <-d.done:
			d.done <- code
			t.Fatalf("azimuth dev exited with %d:\n%s", code, d.stderr.String())
		default:
		}
		if b, err := os.ReadFile(infoPath); err == nil && json.Unmarshal(b, &d.info) == nil && d.info.URL != "" {
			if resp, err := http.Get(d.info.URL + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return d
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("azimuth dev did not come up:\n%s", d.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends dev (as Ctrl-C does) and checks it exits cleanly.
func (d *dev) stop(t *testing.T) {
	t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case code := <-d.done:
		if code != 0 {
			t.Errorf("azimuth dev exited with %d:\n%s", code, d.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Error("azimuth dev did not stop")
	}
}

// run runs an azimuth client command against d and returns its exit code
// and output.
func (d *dev) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncBuffer
	args = append(args, "--server", d.info.URL, "--api-key-file", filepath.Join(d.dir, "admin-api-key"))
	code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func (d *dev) client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(client.Options{BaseURL: d.info.URL, APIKey: d.info.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDevSeedsAndConnectionTests(t *testing.T) {
	dir := t.TempDir()
	d := startDev(t, dir)

	// dev.json describes the simulator and the seeded connectors.
	for _, f := range []string{d.info.Simulator.World, d.info.Simulator.CloudConfig, d.info.Simulator.CACert} {
		if _, err := os.Stat(f); err != nil || !strings.HasPrefix(f, dir) {
			t.Errorf("dev.json names %q: %v", f, err)
		}
	}
	if _, err := cloud.Load(d.info.Simulator.CloudConfig); err != nil {
		t.Errorf("cloud config: %v", err)
	}
	if d.info.Simulator.Control == "" || d.info.Simulator.Clouds["AZURE"].AuthorityHost == "" {
		t.Errorf("simulator %+v", d.info.Simulator)
	}
	kinds := map[string]bool{}
	expected := map[string]string{}
	for _, c := range d.info.Connectors {
		managed := strings.HasSuffix(c.Credential, "ManagedIdentity")
		through := c.ConnectsThrough == "server" || c.ConnectsThrough == "delegate"
		if c.Scope != "account" || !through || c.Identifier == "" || c.Expect == "" || managed != (len(c.Secrets) == 0) ||
			managed && c.ConnectsThrough != "delegate" {
			t.Errorf("dev.json connector %+v", c)
		}
		kinds[c.Credential+"/"+c.Expect+"/"+c.ExpectReason] = true
		expected[c.Identifier] = c.Expect
	}
	for _, k := range []string{"ServicePrincipalSecret/SUCCESS/", "ServicePrincipalCertificate/SUCCESS/", "ServicePrincipalSecret/FAILURE/ClientSecretExpired"} {
		if !kinds[k] {
			t.Errorf("dev.json seeds no %s connector: %v", k, kinds)
		}
	}

	// Each seeded connector, tested as a user would.
	ctx := context.Background()
	c := d.client(t)
	var outputs strings.Builder
	for _, sc := range d.info.Connectors {
		t.Run(sc.Identifier, func(t *testing.T) {
			code, out, errOut := d.run(t, "connector", "test", sc.Identifier, "-o", "json")
			outputs.WriteString(out + errOut)
			var res client.ValidationResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("exit %d, output %q %q: %v", code, out, errOut, err)
			}
			wantCode := 0
			if sc.Expect == "FAILURE" {
				wantCode = 7
			}
			if res.Status != sc.Expect || res.Reason != sc.ExpectReason || code != wantCode {
				t.Fatalf("exit %d, status %s reason %s; dev.json expects %s %s (exit %d)", code, res.Status, res.Reason, sc.Expect, sc.ExpectReason, wantCode)
			}
			if res.Status == "FAILURE" && (res.Hint == "" || len(res.Errors) != 1 || res.ErrorSummary == nil) {
				t.Errorf("failure without its details: %+v", res)
			}
			if res.Status == "SUCCESS" && (res.Subscriptions == nil || res.Subscriptions.Count == 0 || res.Identity == nil) {
				t.Errorf("success without its subscriptions: %+v", res)
			}
			// The human output says the same.
			code, human, _ := d.run(t, "connector", "test", sc.Identifier)
			outputs.WriteString(human)
			if code != wantCode || !strings.Contains(human, "Connection test of "+sc.Identifier+": "+sc.Expect) ||
				(sc.ExpectReason != "" && !regexp.MustCompile(`(?m)^Reason:\s+`+sc.ExpectReason+`$`).MatchString(human)) {
				t.Errorf("exit %d, output:\n%s", code, human)
			}
			if sc.Expect == "SUCCESS" && !strings.Contains(human, "subscription(s) visible") {
				t.Errorf("output:\n%s", human)
			}
			// The connector's status records it.
			got, err := c.GetConnector(ctx, client.Scope{}, sc.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Status != sc.Expect || got.Status.TestedAt == 0 {
				t.Errorf("status %+v", got.Status)
			}
			if sc.ExpectReason != "" && (len(got.Status.Errors) == 0 || got.Status.Errors[0].Reason != sc.ExpectReason) {
				t.Errorf("status errors %+v", got.Status.Errors)
			}
		})
	}

	// 429 with Retry-After: 2 from the simulator's ARM: the test is
	// retried after at least 2 s (the simulator's log of the requests'
	// arrival times) and succeeds.
	simPost(t, d.info.Simulator.Control+"/_sim/faults", `{"route":"arm.subscriptions.list","status":429,"retryAfter":"2s","times":1}`)
	mark := len(d.stderr.String())
	code, out, _ := d.run(t, "connector", "test", "dev_sp_secret", "-o", "json")
	if code != 0 {
		t.Fatalf("after one 429 the test must succeed: exit %d %s", code, out)
	}
	times := requestTimes(t, d.stderr.String()[mark:], "arm.subscriptions.list")
	if len(times) != 2 {
		t.Fatalf("the simulator logged %d subscription listings, want 2 (the 429 and its retry)", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < 2*time.Second {
		t.Fatalf("the retry arrived %v after the 429, before its Retry-After of 2s", gap)
	}

	// No seeded secret value in the logs or in anything the commands
	// printed.
	for _, v := range seededValues {
		if strings.Contains(d.stderr.String(), v) || strings.Contains(d.stdout.String(), v) {
			t.Errorf("the dev log holds the secret value %q", v)
		}
		if strings.Contains(outputs.String(), v) {
			t.Errorf("a command's output holds the secret value %q", v)
		}
	}
	if strings.Contains(d.stderr.String(), "PRIVATE KEY") || strings.Contains(outputs.String(), "PRIVATE KEY") {
		t.Error("a private key in the logs or output")
	}

	// Stopping dev stops the simulator.
	login := d.info.Simulator.Clouds["AZURE"].AuthorityHost
	d.stop(t)
	host := strings.TrimSuffix(strings.TrimPrefix(login, "https://"), "/")
	if conn, err := net.DialTimeout("tcp", host, 2*time.Second); err == nil {
		conn.Close()
		t.Errorf("the simulator still listens on %s after dev stopped", host)
	}

	// A restart on the same directory seeds again, idempotently: the same
	// connectors, the certificate secret brought up to date with the new
	// simulator's certificate.
	d2 := startDev(t, dir)
	if len(d2.info.Connectors) != len(d.info.Connectors) {
		t.Fatalf("after a restart dev.json lists %d connectors, before %d", len(d2.info.Connectors), len(d.info.Connectors))
	}
	list, err := d2.client(t).ListConnectors(ctx, client.Scope{}, client.ListConnectorsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if list.TotalItems != int64(len(d.info.Connectors)) {
		t.Errorf("%d connectors after a restart, want %d", list.TotalItems, len(d.info.Connectors))
	}
	for _, sc := range d2.info.Connectors {
		code, out, _ := d2.run(t, "connector", "test", sc.Identifier, "-o", "json")
		var res client.ValidationResult
		_ = json.Unmarshal([]byte(out), &res)
		if res.Status != expected[sc.Identifier] || (code == 0) != (res.Status == "SUCCESS") {
			t.Errorf("after a restart %s: exit %d, %s %s", sc.Identifier, code, res.Status, res.Reason)
		}
	}
}

func simPost(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}

// requestTimes reads the simulator's request lines (text log, debug level)
// for a route and returns their times.
func requestTimes(t *testing.T, log, route string) []time.Time {
	t.Helper()
	var out []time.Time
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "component=azuresim") || !strings.Contains(line, "msg=request") || !strings.Contains(line, "route="+route+" ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "time=") {
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
		if err != nil {
			t.Fatalf("log time %q: %v", f[0], err)
		}
		out = append(out, ts)
	}
	return out
}
