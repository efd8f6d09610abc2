package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/audit"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// ConnectorUse is an act with a connector's credential beyond reading what
// it sees: running code on a delegate with it (a script step) or handing
// out a credential it yields (a kubeconfig, docker login credentials for a
// registry). Listing subscriptions, registries, tags or clusters, testing
// the connection and checking permissions stay reads.
//
// Harness guards these with core_connector_access, a permission its
// viewer role lacks; Azimuth asks for the editor role at the connector's
// scope, and writes every use in the audit trail.
type ConnectorUse struct {
	// Action is the audit action, "connector.<use>": connector.step,
	// connector.kubeconfig, connector.acrcredentials.
	Action string
	// What names the use in a refusal: "running a script step".
	What string
	// Detail is the audit event's text: what was done, where. Never a
	// secret value (a step's script is given by its hash).
	Detail string
}

// maxUseDetail bounds a use's audit text (it quotes request fields).
const maxUseDetail = 2048

// Use returns connector id at sc for p to act with: p needs the editor
// role there (a key outside the scope gets what Get gives it: not found,
// or forbidden for an ancestor). The use is recorded in the audit trail
// before the connector is returned, and a use that cannot be recorded is
// refused (fail-closed); a refusal is recorded too.
func (s *Connectors) Use(ctx context.Context, p access.Principal, sc scope.Scope, id string, u ConnectorUse) (Connector, error) {
	if err := sc.Validate(); err != nil {
		return Connector{}, err
	}
	o := op{u.Action, "connector"}
	if err := p.Authorize(sc, access.Edit); err != nil {
		if errors.Is(err, access.ErrInvisible) {
			s.denied(ctx, p, o, sc, id, err.Error())
			return Connector{}, connectorNotFound(sc, id)
		}
		if p.Scope.Contains(sc) { // the role, not the scope, is short
			err = failure.New(failure.Forbidden, "API key %q has role %s: %s with connector [%s] needs role editor or admin at %s",
				p.KeyID, p.Role, u.What, id, sc.Describe()).
				WithCode("NG_ACCESS_DENIED").
				WithHint("a viewer may list what the connector sees; ask for an editor key to use its credential")
		}
		s.denied(ctx, p, o, sc, id, err.Error())
		return Connector{}, err
	}
	rec, err := s.st.GetConnector(ctx, sc, id)
	if errors.Is(err, store.ErrNotFound) {
		return Connector{}, connectorNotFound(sc, id)
	}
	if err != nil {
		return Connector{}, err
	}
	c, err := view(rec)
	if err != nil {
		return Connector{}, err
	}
	detail := u.Detail
	if len(detail) > maxUseDetail {
		detail = strings.ToValidUTF8(detail[:maxUseDetail], "") + "…"
	}
	if err := s.st.AppendAudit(ctx, s.event(p, o, sc, id, audit.Success, detail)); err != nil {
		return Connector{}, fmt.Errorf("%s: write audit event: %w", u.Action, err)
	}
	return c, nil
}
