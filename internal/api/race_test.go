package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
)

// TestSecretDeleteRacesConnectorWrite: a secret deleted (without force)
// while connectors are being created or updated to refer to it is either
// kept, because a connector refers to it, or deleted with no connector
// referring to it. Without locking, PostgreSQL's READ COMMITTED let both
// commit: the delete saw no reference yet, the connector saw the secret
// still there.
func TestSecretDeleteRacesConnectorWrite(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		sys := access.System("test")
		acc := scope.Scope{Account: acct}
		e.must(e.createTextSecret(e.admin, "", "", "other", "v"))
		write := func(id, ref string, update bool) error {
			b, _ := json.Marshal(azureConnector(id, "default", "", ref))
			w := service.Write{Account: acct, Body: b, MediaType: "application/json"}
			var err error
			if update {
				_, err = e.svc.Connectors.Update(ctx, sys, w)
			} else {
				_, err = e.svc.Connectors.Create(ctx, sys, w)
			}
			return err
		}
		const rounds = 25
		kept, deleted := 0, 0
		for round := 0; round < rounds; round++ {
			sid := fmt.Sprintf("s%d", round)
			v := secret.NewValue([]byte("v"))
			if _, err := e.svc.Secrets.Create(ctx, sys, acc, service.SecretText, service.SecretInput{Type: service.SecretText,
				Identifier: sid, Name: sid, Value: &v}); err != nil {
				t.Fatal(err)
			}
			upd := fmt.Sprintf("u%d", round)
			if err := write(upd, "account.other", false); err != nil {
				t.Fatal(err)
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			run := func(fn func()) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					fn()
				}()
			}
			// Each side may lose (the secret is gone; it is referenced; the
			// connector changed meanwhile), but never with a server error
			// such as a deadlock.
			errs := make(chan error, 5)
			for i := 0; i < 3; i++ {
				run(func() { errs <- write(fmt.Sprintf("c%d_%d", round, i), "account."+sid, false) })
			}
			run(func() { errs <- write(upd, "account."+sid, true) })
			run(func() { errs <- e.svc.Secrets.Delete(ctx, sys, acc, sid, false) })
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil && failure.KindOf(err) == failure.Internal {
					t.Errorf("round %d: %v", round, err)
				}
			}

			_, gerr := e.st.GetSecret(ctx, acc, sid)
			refs, err := e.st.ConnectorsReferencing(ctx, acc, sid)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case gerr == nil:
				kept++
			case len(refs) > 0:
				t.Fatalf("round %d: secret %s deleted without force while %d connector(s) refer to it: %v", round, sid, len(refs), refs)
			default:
				deleted++
			}
		}
		t.Logf("%d rounds: secret kept %d times, deleted (before any reference) %d times", rounds, kept, deleted)
	})
}
