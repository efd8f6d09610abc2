package conntest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
)

func conn() *connector.Connector {
	return &connector.Connector{Identifier: "c", Type: connector.TypeAzure, Spec: &connector.AzureSpec{AzureEnvironmentType: "AZURE",
		Credential: &connector.Credential{Type: connector.CredentialManual, Manual: &connector.ManualSpec{ApplicationID: "a", TenantID: "t",
			Auth: &connector.ManualAuth{Type: connector.AuthSecret, SecretRef: "s"}}}}}
}

func TestFromTask(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ok, _ := json.Marshal(ops.ValidationResult{Status: ops.StatusSuccess, TestedAt: 5, Cloud: "AZURE"})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		res     *task.Result
		runErr  error
		wantErr failure.Kind
		status  string
		reason  string
		hint    bool
	}{
		{name: "success", res: &task.Result{TaskID: "t1", Status: task.Succeeded, Output: ok}, status: ops.StatusSuccess},
		{name: "needs a delegate", runErr: failure.New(failure.Unavailable, "azure.validate needs a delegate").WithCode("NoDelegate").WithHint("run one"),
			status: ops.StatusFailure, reason: "NoDelegate", hint: true},
		{name: "secret missing", runErr: failure.New(failure.NotFound, "no secret"), status: ops.StatusFailure, reason: string(azure.ReasonSecretMissing), hint: true},
		{name: "request cancelled", ctx: cancelled, runErr: context.Canceled, wantErr: failure.Canceled},
		{name: "task ran out of time", res: &task.Result{TaskID: "t2", Status: task.Failed, Error: &task.Error{Kind: "TIMEOUT", Reason: "TaskTimeout", Message: "ran out"}},
			status: ops.StatusFailure, reason: "TaskTimeout"},
		{name: "task refused its parameters", res: &task.Result{TaskID: "t3", Status: task.Failed, Error: &task.Error{Kind: "INVALID", Message: "task parameters: unknown field"}},
			wantErr: failure.Invalid},
		{name: "task panicked", res: &task.Result{TaskID: "t4", Status: task.Failed, Error: &task.Error{Kind: "INTERNAL", Message: "panicked"}},
			status: ops.StatusFailure, reason: ReasonTaskFailed},
		{name: "task cancelled", res: &task.Result{TaskID: "t5", Status: task.Cancelled}, wantErr: failure.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			v, err := FromTask(ctx, conn(), tc.res, tc.runErr, now)
			if tc.status == "" {
				if err == nil || failure.KindOf(err) != tc.wantErr {
					t.Fatalf("err %v (%s), want kind %s", err, failure.KindOf(err), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != tc.status || v.Reason != tc.reason || (v.Hint != "") != tc.hint {
				t.Fatalf("result %+v", v)
			}
			if v.Status == ops.StatusFailure {
				if len(v.Errors) != 1 || v.Errors[0].Reason != tc.reason || v.ErrorSummary == nil || v.TestedAt != now.UnixMilli() || v.Cloud != "AZURE" {
					t.Errorf("result %+v", v)
				}
			}
		})
	}
}

func TestStatus(t *testing.T) {
	prev := store.ConnectorStatus{Status: "SUCCESS", LastConnectedAt: time.UnixMilli(1000)}
	sum := "ClientSecretExpired (expired)"
	fail := &ops.ValidationResult{Status: ops.StatusFailure, TestedAt: 2000, ErrorSummary: &sum, Reason: "ClientSecretExpired", Hint: "renew it",
		Errors: []ops.ErrorDetail{{Reason: "ClientSecretExpired", Message: "expired", Code: 400}}}
	st := Status(fail, prev)
	if st.Status != "FAILURE" || st.ErrorSummary != sum || !st.LastConnectedAt.Equal(prev.LastConnectedAt) || st.TestedAt.UnixMilli() != 2000 ||
		len(st.Errors) != 1 || st.Errors[0].Hint != "renew it" || st.Errors[0].Level != "" {
		t.Fatalf("failure status %+v", st)
	}
	okRes := &ops.ValidationResult{Status: ops.StatusSuccess, TestedAt: 3000,
		Warnings: []azure.Warning{{Reason: azure.ReasonCertificateExpiresSoon, Message: "expires in 9 days", Hint: "renew"}}}
	st = Status(okRes, prev)
	if st.Status != "SUCCESS" || st.ErrorSummary != "" || st.LastConnectedAt.UnixMilli() != 3000 || len(st.Errors) != 1 ||
		st.Errors[0].Level != LevelWarning || st.Errors[0].Reason != string(azure.ReasonCertificateExpiresSoon) {
		t.Fatalf("success status %+v", st)
	}
}

type forgetter struct{ ids []string }

func (f *forgetter) Forget(c *connector.Connector) {
	f.ids = append(f.ids, c.AccountIdentifier+"/"+c.OrgIdentifier+"/"+c.ProjectIdentifier+"/"+c.Identifier)
}

// OnChange never blocks, even with no Run to drain it, and forgets a
// changed connector's credential at once under both cache keys.
func TestOnChangeDoesNotBlock(t *testing.T) {
	f := &forgetter{}
	r := &Retester{Azure: f, Interval: time.Hour}
	for range 1000 {
		r.OnChange(service.Change{Resource: "secret", Op: "update", Scope: scope.Scope{Account: "a"}, Identifier: "s"})
	}
	r.OnChange(service.Change{Resource: "connector", Op: "delete", Scope: scope.Scope{Account: "a", Org: "o"}, Identifier: "c"})
	if len(f.ids) != 2 || f.ids[0] != "a/o//c" || f.ids[1] != "/o//c" {
		t.Fatalf("forgotten %v", f.ids)
	}
	if len(r.secrets) != 1 {
		t.Fatalf("%d queued secret changes, want 1 (coalesced)", len(r.secrets))
	}
}
