package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/azimuthcd/azimuth/internal/client"
)

// newConnectorTestCmd is `azimuth connector test ID`: the connection test.
func newConnectorTestCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "test ID",
		Short: "Test a connector: authenticate to Azure and list the subscriptions it can see",
		Long: `Run the connector's connection test (Harness's testConnection) and record its
outcome as the connector's status.

It authenticates with the connector's credentials and lists the subscriptions
the identity can see. A failure names its reason (ClientSecretExpired,
TenantNotFound, NoSubscriptions, ...) and a hint saying what to do; warnings
(a certificate that expires within 30 days) are shown on success too. The
reasons are listed in docs/connection-test.md.

Exit status: 0 on SUCCESS, 7 on FAILURE, others as for every command.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := newPrinter(cmd, s)
			if err != nil {
				return err
			}
			c, t, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.TestConnector(cmd.Context(), t.scope(), args[0], nil)
			if err != nil {
				return apiError(t, err)
			}
			if ok, err := p.structured(res); ok {
				if err != nil {
					return err
				}
				return testExit(args[0], res)
			}
			if err := printValidation(s, args[0], res); err != nil {
				return err
			}
			return testExit(args[0], res)
		},
	}
}

// testExit is the command's outcome: nil on SUCCESS, exit 7 on FAILURE.
func testExit(id string, res client.ValidationResult) error {
	if res.Status == "SUCCESS" {
		return nil
	}
	return withExit(ExitFailed, fmt.Errorf("the connection test of %s failed: %s", id, orDash(res.Reason)))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printValidation(s *streams, id string, res client.ValidationResult) error {
	w := s.out
	fmt.Fprintf(w, "Connection test of %s: %s\n", clean(id), clean(res.Status))
	kv := []string{}
	if res.Status != "SUCCESS" {
		msg := ""
		if len(res.Errors) > 0 {
			msg = res.Errors[0].Message
		}
		kv = append(kv, "Reason", res.Reason, "Message", msg, "Hint", res.Hint)
	}
	if id := res.Identity; id != nil {
		kv = append(kv, "Tenant", id.TenantID, "Application", id.ApplicationID, "Object", id.ObjectID)
	}
	kv = append(kv, "Cloud", res.Cloud, "Credential", res.CredentialType)
	if cert := res.Certificate; cert != nil {
		kv = append(kv, "Certificate", fmt.Sprintf("%s (thumbprint %s), valid until %s", cert.Subject, cert.Thumbprint, cert.NotAfter))
	}
	delegate := "the server"
	if res.DelegateID != nil {
		delegate = "delegate " + *res.DelegateID
	}
	kv = append(kv, "Tested by", delegate, "Tested at", when(res.TestedAt), "Duration", fmt.Sprintf("%d ms", res.DurationMillis), "Task", res.TaskID)
	if err := fields(w, kv...); err != nil {
		return err
	}
	for _, wr := range res.Warnings {
		fmt.Fprintf(w, "\nWarning: %s: %s\n", clean(wr.Reason), clean(wr.Message))
		if wr.Hint != "" {
			fmt.Fprintf(w, "  Hint: %s\n", clean(wr.Hint))
		}
	}
	if subs := res.Subscriptions; subs != nil {
		fmt.Fprintf(w, "\n%d subscription(s) visible", subs.Count)
		if subs.Truncated {
			fmt.Fprintf(w, " (the first %d listed)", len(subs.Items))
		}
		fmt.Fprintln(w)
		if len(subs.Items) > 0 {
			t := newTable(w, "SUBSCRIPTION", "NAME", "STATE")
			for _, it := range subs.Items {
				t.row(it.ID, it.DisplayName, it.State)
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}
