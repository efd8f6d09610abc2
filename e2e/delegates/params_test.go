package delegates

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azuresim"
	"github.com/azimuthcd/azimuth/internal/client"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/testenv"
)

// TestStepParamsSealed: values planted in a script step's script and in
// its env reach the script on the delegate (it prints their SHA-256), but
// no table of the database holds them (every row of every table, the
// SQLite files, a pg_dump), nor does the task list or the task's own API
// answer, the server's log or the delegate's, on SQLite and PostgreSQL.
// The task row keeps its parameters sealed with the keyring, bound to the
// task, and the hub opens them only for the delegate that claimed it.
func TestStepParamsSealed(t *testing.T) {
	for _, dialect := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			inScript, inEnv := canary("script"), canary("env")
			sim := azuresim.StartForTestWith(t, azuresim.Options{})
			dir := t.TempDir()
			serverCfg, hostCfg := writeCloudConfigs(t, sim, dir)
			o := serverOpts{dataDir: dir, cloudConfig: serverCfg}
			if dialect == sqlstore.Postgres {
				o.dbURL = testenv.Postgres(t)
			}
			r := startServer(t, o)
			tok := r.token(t, "main")
			d := startDelegate(t, r.url, tok, "runner", nil, "--cloud-config", hostCfg)
			waitDelegates(t, r, 1)
			ctx := context.Background()
			if _, err := r.client.CreateTextSecret(ctx, client.Scope{}, client.SecretMeta{Identifier: "owner"}, []byte("demo-owner-secret-0006")); err != nil {
				t.Fatal(err)
			}
			r.createConnector(t, connectorDoc("aks_sp", nil,
				`{"type":"ManualConfig","spec":{"applicationId":"30000000-0000-4000-8000-000000000006","tenantId":"`+usesTenant+`","auth":{"type":"Secret","spec":{"secretRef":"account.owner"}}}}`))
			script := fmt.Sprintf("export TOKEN=%s\nprintf %%s \"$TOKEN\" | sha256sum\nprintf %%s \"$STEP_PASSWORD\" | sha256sum\n", inScript)
			var taskID string
			{
				var b [12]byte
				_, _ = rand.Read(b[:])
				taskID = "tsk_" + hex.EncodeToString(b[:])
			}
			var out ops.StepResult
			q := url.Values{"accountIdentifier": {account}, "connectorRef": {"aks_sp"}}
			body := map[string]any{"subscriptionId": usesSub, "resourceGroup": usesRG, "cluster": "aks-local", "namespace": "default",
				"script": script, "env": map[string]string{"STEP_PASSWORD": inEnv}, "taskId": taskID}
			sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			if _, err := r.client.Do(sctx, client.Request{Method: http.MethodPost, Path: "/ng/api/azimuth/steps", Query: q, JSON: body}, &out); err != nil {
				t.Fatal(err)
			}
			// The script saw both values.
			for name, v := range map[string]string{"script": inScript, "env": inEnv} {
				sum := sha256.Sum256([]byte(v))
				if !strings.Contains(out.Output, hex.EncodeToString(sum[:])) {
					t.Fatalf("the script did not see the value planted in its %s: %+v", name, out)
				}
			}
			if out.ExitCode != 0 || out.DelegateID == "" {
				t.Fatalf("step %+v", out)
			}

			sinks := map[string]string{"table dump": dumpTables(t, r.srv.Store), "server log": r.logs.String(), "delegate log": d.out.String()}
			for _, path := range []string{"/ng/api/azimuth/tasks", "/ng/api/azimuth/tasks/" + taskID, "/ng/api/azimuth/audit"} {
				req, _ := http.NewRequest(http.MethodGet, r.url+path+"?accountIdentifier="+account+"&pageSize=100", nil)
				req.Header.Set("x-api-key", r.key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || (strings.Contains(path, "/tasks") && !strings.Contains(string(b), taskID)) {
					t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
				}
				sinks["GET "+path] = string(b)
			}
			if dialect == sqlstore.SQLite {
				for _, f := range []string{"azimuth.db", "azimuth.db-wal", "azimuth.db-shm"} {
					b, err := os.ReadFile(filepath.Join(dir, f))
					if err != nil && !errors.Is(err, os.ErrNotExist) {
						t.Fatal(err)
					}
					sinks[f] = string(b)
				}
			} else if pgDump, err := exec.LookPath("pg_dump"); err == nil {
				b, err := exec.Command(pgDump, "--data-only", "--dbname", o.dbURL).Output()
				if err != nil || !strings.Contains(string(b), "COPY public.tasks") {
					t.Fatalf("pg_dump: %v", err)
				}
				sinks["pg_dump"] = string(b)
			}
			for _, v := range []string{inScript, inEnv} {
				for _, f := range leakForms(v) {
					for name, data := range sinks {
						if i := strings.Index(data, f); i >= 0 {
							t.Errorf("%q (planted as %q) found in %s: ...%s...", f, v, name, data[max(0, i-120):min(len(data), i+len(f)+120)])
						}
					}
				}
			}
			row, err := r.srv.Store.GetTask(ctx, taskID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(row.Params), "enc1:") {
				t.Fatalf("the task row's parameters are not sealed: %.80s", row.Params)
			}
		})
	}
}

// canary is a unique value to plant.
func canary(what string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "cnry-" + what + "-" + hex.EncodeToString(b[:])
}

// leakForms are the encodings a leaked value could take.
func leakForms(s string) []string {
	var out []string
	for _, f := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s)),
		base64.URLEncoding.EncodeToString([]byte(s)), hex.EncodeToString([]byte(s)), url.QueryEscape(s),
		s[len(s)/3 : 2*len(s)/3]} { // a part of it
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// dumpTables renders every row of every table of the store (and fails
// the test if it holds no task, which would make the search prove nothing).
func dumpTables(t *testing.T, st *sqlstore.Store) string {
	t.Helper()
	var n int
	if err := st.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM tasks`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("the dump holds no task (%d, %v)", n, err)
	}
	return testenv.DumpTables(t, st.DB(), st.Dialect() == sqlstore.Postgres)
}
