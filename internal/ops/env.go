package ops

import "log/slog"

// Env is what executors share within one process (server or delegate):
// built once at start, safe for concurrent use.
type Env struct {
	Logger *slog.Logger
	// Fields are added as the issues that need them land: the Azure client
	// factory and credential cache, and, on a delegate, what the delegate
	// offers (managed identity, Kubernetes).
}
