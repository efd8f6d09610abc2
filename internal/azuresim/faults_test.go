package azuresim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

func TestFaultsThroughTheGoAPI(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	get := func() error {
		_, err := secretCred(t, s, demoTenant, readerAppID, readerSecret).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
		return err
	}
	id, err := s.AddFault(Fault{Route: "entra.token", Status: 429, RetryAfter: Duration(2 * time.Second), Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = get()
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse.StatusCode != 429 || afe.RawResponse.Header.Get("Retry-After") != "2" {
		t.Fatalf("want a 429 with Retry-After 2, got %v", err)
	}
	if err := get(); err != nil {
		t.Fatalf("the fault applied once, the second request must pass: %v", err)
	}
	if s.RemoveFault(id) {
		t.Fatal("a used-up fault is gone")
	}
	if n := s.RequestCount("entra.token"); n != 2 {
		t.Fatalf("entra.token count = %d, want 2", n)
	}

	if _, err := s.AddFault(Fault{Route: "entra.*", Drop: true}); err != nil {
		t.Fatal(err)
	}
	if err := get(); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("want a dropped connection, got %v", err)
	}
	s.ClearFaults()

	if _, err := s.AddFault(Fault{Status: 503, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if err := get(); !errors.As(err, &afe) || afe.RawResponse.StatusCode != 503 {
		t.Fatalf("global fault: %v", err)
	}
	if _, err := s.AddFault(Fault{Status: 200}); err == nil {
		t.Fatal("a 200 fault is refused")
	}
}

func TestControlEndpoint(t *testing.T) {
	s := StartForTest(t, nil)
	c := &http.Client{Timeout: 10 * time.Second}
	body, _ := json.Marshal(Fault{Route: "arm.subscriptions.list", Status: 500, Times: 2})
	resp, err := c.Post(s.ControlURL()+"/_sim/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || len(s.Faults()) != 1 || s.Faults()[0].Remaining != 2 {
		t.Fatalf("add fault: %d %+v", resp.StatusCode, s.Faults())
	}
	resp, err = c.Post(s.ControlURL()+"/_sim/faults", "application/json", strings.NewReader(`{"route":"x","status":99}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad fault accepted: %d", resp.StatusCode)
	}
	if _, err := secretCred(t, s, demoTenant, readerAppID, readerSecret).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armScope}}); err != nil {
		t.Fatal(err)
	}
	var doc countersDoc
	getJSON(t, c, s.ControlURL()+"/_sim/counters", &doc)
	if doc.Routes["entra.token"] != 1 || len(doc.Tokens) != 1 || doc.Tokens[0].ClientID != readerAppID || doc.Tokens[0].Count != 1 {
		t.Fatalf("counters %+v", doc)
	}
	req, _ := http.NewRequest(http.MethodDelete, s.ControlURL()+"/_sim/faults", nil)
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(s.Faults()) != 0 {
		t.Fatal("faults not cleared")
	}
	resp, err = c.Post(s.ControlURL()+"/_sim/clock", "application/json", strings.NewReader(`{"skew":"2h"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Until(s.Now()); d < 119*time.Minute {
		t.Fatalf("clock skew not applied: %v", d)
	}
	var o map[string]any
	getJSON(t, c, s.ControlURL()+"/_sim/hosts/delegate-host/override", &o)
	if o["appService"] == nil || o["hosts"].(map[string]any)["169.254.169.254:80"] == nil {
		t.Fatalf("host override %v", o)
	}
}

func TestARMFaultsAndSDKRetries(t *testing.T) {
	s := StartForTest(t, nil)
	ctx := context.Background()
	cred := secretCred(t, s, demoTenant, readerAppID, readerSecret)
	if _, err := s.AddFault(Fault{Route: "arm.resourcegroups.get", Status: 429, RetryAfter: Duration(time.Second), Times: 1}); err != nil {
		t.Fatal(err)
	}
	noRetry, _ := armresources.NewResourceGroupsClient(demoSub, cred, armOptions(s))
	_, err := noRetry.Get(ctx, "rg-web", nil)
	responseError(t, err, 429, "TooManyRequests")

	// With retries on, the SDK rides out two 503s.
	opts := armOptions(s)
	opts.Retry = policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}
	retrying, _ := armresources.NewResourceGroupsClient(demoSub, cred, opts)
	if _, err := s.AddFault(Fault{Route: "arm.resourcegroups.*", Status: 503, Times: 2}); err != nil {
		t.Fatal(err)
	}
	s.ResetCounters()
	if _, err := retrying.Get(ctx, "rg-web", nil); err != nil {
		t.Fatal(err)
	}
	if n := s.RequestCount("arm.resourcegroups.get"); n != 3 {
		t.Fatalf("requests = %d, want 3 (two faulted, one served)", n)
	}
	// Latency alone lets the request through.
	if _, err := s.AddFault(Fault{Route: "arm.resourcegroups.get", Latency: Duration(20 * time.Millisecond), Times: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := noRetry.Get(ctx, "rg-web", nil); err != nil {
		t.Fatal(err)
	}
}
