package ops

import (
	"io"
	"log/slog"
	"time"

	"github.com/azimuthcd/azimuth/internal/azure"
)

// Env is what executors share within one process (server or delegate):
// built once at start, safe for concurrent use.
type Env struct {
	Logger *slog.Logger
	// Azure builds credentials (cached per connector) and SDK client
	// options. In the server it refuses managed identities; a delegate's
	// allows them (azure.Options.ManagedIdentity).
	Azure *azure.Factory
	// DelegateID names the delegate this process is; "" in the server.
	DelegateID string
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// NewEnv returns the environment of a server (delegateID "") or of a
// delegate. A nil logger discards.
func NewEnv(logger *slog.Logger, az *azure.Factory, delegateID string) *Env {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Env{Logger: logger.With("component", "ops"), Azure: az, DelegateID: delegateID, Now: time.Now}
}

func (e *Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e *Env) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return e.Logger
}
