package service

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/azimuthcd/azimuth/internal/audit"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// Failed authentications are not written to the audit trail one by one:
// anyone can send a request without a valid key, and a row per request
// would let them grow the trail without bound and, since every append takes
// the chain's head lock, serialise every write of the installation behind
// theirs. Each failure is logged and counted in memory instead; the counts
// become one audit event per account per interval (AuthFailureInterval),
// saying how many failed, why, from which addresses and against which key
// ids. Memory is bounded: at most maxFailureAccounts accounts, and per
// account maxFailureNames addresses and key ids, the rest counted as
// "others". Refusals of an authenticated key are still audited one by one.

// AuthFailureInterval is how often counted authentication failures are
// written to the audit trail.
const AuthFailureInterval = time.Minute

const (
	maxFailureAccounts = 32
	maxFailureNames    = 16
)

// capped counts occurrences of at most maxFailureNames names; the others
// are counted together.
type capped struct {
	n      map[string]int
	others int
}

func (c *capped) add(name string, n int) {
	if name == "" {
		return
	}
	if c.n == nil {
		c.n = map[string]int{}
	}
	if _, ok := c.n[name]; !ok && len(c.n) >= maxFailureNames {
		c.others += n
		return
	}
	c.n[name] += n
}

func (c *capped) merge(o capped) {
	for k, v := range o.n {
		c.add(k, v)
	}
	c.others += o.others
}

// sorted returns the names, most frequent first.
func (c *capped) sorted() []string {
	out := make([]string, 0, len(c.n))
	for k := range c.n {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if c.n[out[i]] != c.n[out[j]] {
			return c.n[out[i]] > c.n[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

func (c *capped) describe() string {
	var parts []string
	for _, k := range c.sorted() {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, c.n[k]))
	}
	if c.others > 0 {
		parts = append(parts, fmt.Sprintf("others ×%d", c.others))
	}
	return strings.Join(parts, ", ")
}

// failureCount is one account's failures since the last flush.
type failureCount struct {
	total   int
	reasons map[string]int
	sources capped
	keys    capped
}

func (f *failureCount) merge(o *failureCount) {
	f.total += o.total
	if f.reasons == nil {
		f.reasons = map[string]int{}
	}
	for k, v := range o.reasons {
		f.reasons[k] += v
	}
	f.sources.merge(o.sources)
	f.keys.merge(o.keys)
}

// authFailures is the in-memory tally.
type authFailures struct {
	mu    sync.Mutex
	since time.Time
	by    map[string]*failureCount // by account; "" when none is known
}

// count records one failure. account is the key's account when the key id
// exists, else the account the request named (validated), else "".
func (a *authFailures) count(now time.Time, account, reason, source, keyID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.by == nil {
		a.by = map[string]*failureCount{}
	}
	if len(a.by) == 0 {
		a.since = now
	}
	f, ok := a.by[account]
	if !ok {
		if len(a.by) >= maxFailureAccounts {
			account = ""
			f = a.by[""]
		}
		if f == nil {
			f = &failureCount{reasons: map[string]int{}}
			a.by[account] = f
		}
	}
	f.total++
	f.reasons[reason]++
	f.sources.add(source, 1)
	f.keys.add(keyID, 1)
}

// take empties the tally and returns it.
func (a *authFailures) take() (map[string]*failureCount, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	by, since := a.by, a.since
	a.by = nil
	return by, since
}

// putBack returns a tally that could not be written, so it is written next
// time.
func (a *authFailures) putBack(by map[string]*failureCount, since time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.by == nil {
		a.by = map[string]*failureCount{}
		a.since = since
	}
	if since.Before(a.since) {
		a.since = since
	}
	for acc, f := range by {
		if cur, ok := a.by[acc]; ok {
			cur.merge(f)
		} else if len(a.by) < maxFailureAccounts {
			a.by[acc] = f
		} else {
			if a.by[""] == nil {
				a.by[""] = &failureCount{reasons: map[string]int{}}
			}
			a.by[""].merge(f)
		}
	}
}

// authFailed logs a failed authentication and counts it for the audit
// trail.
func (s *APIKeys) authFailed(ctx context.Context, account, reason, source, keyID string) {
	s.log.InfoContext(ctx, "authentication failed", "reason", reason, "source", source, "keyId", keyID, "account", account)
	s.fails.count(s.now(), account, reason, source, keyID)
}

// FlushAuthFailures writes the failed authentications counted since the last
// flush to the audit trail: one event per account (failures naming no
// existing account go under the empty account, which only the chain's
// verification reads). A tally that cannot be written is kept for the next
// flush.
func (s *APIKeys) FlushAuthFailures(ctx context.Context) error {
	by, since := s.fails.take()
	if len(by) == 0 {
		return nil
	}
	// Accounts named by the request but not present fold into "", so a
	// caller cannot make one event per invented account.
	for acc, f := range by {
		if acc == "" {
			continue
		}
		if _, err := s.st.GetAccount(ctx, acc); errors.Is(err, store.ErrNotFound) {
			delete(by, acc)
			if by[""] == nil {
				by[""] = &failureCount{reasons: map[string]int{}}
			}
			by[""].merge(f)
		} else if err != nil {
			s.fails.putBack(by, since)
			return fmt.Errorf("write failed authentications to the audit trail: %w", err)
		}
	}
	accounts := make([]string, 0, len(by))
	for acc := range by {
		accounts = append(accounts, acc)
	}
	sort.Strings(accounts)
	now := s.now()
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		for _, acc := range accounts {
			f := by[acc]
			e := &audit.Event{Time: now, ActorName: audit.AnonymousActor, Action: opAuth.action, ResourceType: opAuth.resource,
				Scope: scope.Scope{Account: acc}, Outcome: audit.Denied, Detail: f.detail(since, now)}
			if srcs := f.sources.sorted(); len(srcs) > 0 {
				e.Source = srcs[0]
			}
			if keys := f.keys.sorted(); len(keys) == 1 && f.keys.others == 0 {
				e.Identifier = keys[0]
			}
			if err := s.st.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.fails.putBack(by, since)
		return fmt.Errorf("write failed authentications to the audit trail: %w", err)
	}
	return nil
}

// detail is the audit text of one account's failures: how many, between
// when, why, from where, against which key ids. It never holds a key.
func (f *failureCount) detail(since, until time.Time) string {
	noun := "authentications"
	if f.total == 1 {
		noun = "authentication"
	}
	reasons := make([]string, 0, len(f.reasons))
	for r := range f.reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if f.reasons[reasons[i]] != f.reasons[reasons[j]] {
			return f.reasons[reasons[i]] > f.reasons[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	for i, r := range reasons {
		reasons[i] = fmt.Sprintf("%s ×%d", r, f.reasons[r])
	}
	d := fmt.Sprintf("%d failed %s from %s to %s: %s", f.total, noun, since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339),
		strings.Join(reasons, ", "))
	if s := f.sources.describe(); s != "" {
		d += "; from " + s
	}
	if k := f.keys.describe(); k != "" {
		d += "; key ids " + k
	}
	return d
}

// RunAuthFailureFlush writes counted authentication failures every interval
// until ctx ends, then once more.
func (s *APIKeys) RunAuthFailureFlush(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := s.FlushAuthFailures(fctx); err != nil {
				s.log.Warn("write failed authentications to the audit trail", "err", err)
			}
			return ctx.Err()
		case <-t.C:
			if err := s.FlushAuthFailures(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("write failed authentications to the audit trail", "err", err)
			}
		}
	}
}
