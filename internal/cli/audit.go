package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
)

func newAuditCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read and verify the audit trail (an admin key is needed)",
	}
	cmd.AddCommand(newAuditListCmd(s), newAuditVerifyCmd(s))
	return cmd
}

// parseSince reads an RFC 3339 time, a date, or a duration back from now
// ("24h").
func parseSince(flag, v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, time.DateTime, time.DateOnly} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, withExit(ExitUsage, fmt.Errorf("--%s %q: want a time (2026-01-02T15:04:05Z, 2026-01-02) or a duration back from now (24h)", flag, v))
}

func newAuditListCmd(s *streams) *cobra.Command {
	var l listFlags
	var f client.AuditFilter
	var since, until string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit events at a scope and below, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, s, &l, listing[client.AuditEvent]{
				what:   "events",
				header: []string{"SEQ", "TIME", "ACTOR", "ACTION", "SCOPE", "IDENTIFIER", "OUTCOME", "FROM", "DETAIL"},
				row: func(e client.AuditEvent) []string {
					actor := e.ActorName
					if e.ActorKeyID != "" {
						actor += " (" + e.ActorKeyID + ")"
					}
					return []string{strconv.FormatInt(e.Seq, 10), when(e.Time), actor, e.Action, scopeString(e.OrgIdentifier, e.ProjectIdentifier),
						e.Identifier, e.Outcome, e.Source, e.Detail}
				},
				check: func() error {
					now := time.Now()
					var err1, err2 error
					f.Since, err1 = parseSince("since", since, now)
					f.Until, err2 = parseSince("until", until, now)
					if err := errors.Join(err1, err2); err != nil {
						return withExit(ExitUsage, err)
					}
					return nil
				},
				fetch: func(c *client.Client, t target, o client.ListOptions) (client.Page[client.AuditEvent], error) {
					ff := f
					ff.ListOptions = o
					return c.ListAudit(cmd.Context(), t.scope(), ff)
				},
			})
		},
	}
	l.add(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&f.ResourceType, "resource-type", "", "connector, secret, apikey, organization, project, ...")
	fl.StringVar(&f.Action, "action", "", "e.g. connector.create")
	fl.StringVar(&f.Outcome, "outcome", "", "success, denied or failure")
	fl.StringVar(&f.ActorKeyID, "actor", "", "API key id of the actor")
	fl.StringVar(&f.Identifier, "identifier", "", "identifier of the thing acted on")
	fl.StringVar(&since, "since", "", "from this time (RFC 3339, a date, or a duration back such as 24h)")
	fl.StringVar(&until, "until", "", "up to this time (same forms)")
	return cmd
}

func newAuditVerifyCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit trail's hash chain (exit 7 when it is broken)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			v, err := c.VerifyAudit(cmd.Context())
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(v); ok {
				if err == nil && !v.Valid {
					err = withExit(ExitFailed, errors.New("the audit chain is broken"))
				}
				return err
			}
			if !v.Valid {
				return withExit(ExitFailed, fmt.Errorf("the audit chain is broken after checking %d events: %s", v.Events, v.Error))
			}
			_, err = fmt.Fprintf(s.out, "The audit chain is intact (%d events).\n", v.Events)
			return err
		},
	}
}
