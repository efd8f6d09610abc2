// Package ops holds the task executors: the code that talks to Azure for
// each task kind. The same executors run inside the server (connectors with
// executeOnDelegate: false) and on delegates; nothing is written twice for
// the two paths.
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/task"
)

// Secrets are a connector's resolved secret values, keyed by the JSON path of
// the field that refers to them (connector.SecretUse.Path). They exist only
// in memory, for the run of one task, and print as redacted.
type Secrets map[string][]byte

// String never shows a value.
func (s Secrets) String() string { return fmt.Sprintf("Secrets(%d redacted)", len(s)) }

// GoString never shows a value.
func (s Secrets) GoString() string { return s.String() }

// LogValue never shows a value.
func (s Secrets) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON refuses: secret values are never serialised by accident.
func (s Secrets) MarshalJSON() ([]byte, error) {
	return nil, fmt.Errorf("ops.Secrets cannot be marshalled")
}

// Input is what an executor receives, wherever it runs.
type Input struct {
	TaskID    string
	Kind      task.Kind
	Connector *connector.Connector
	Secrets   Secrets
	// CredentialKey identifies the connector version and its secrets'
	// versions: the credential cache's key.
	CredentialKey string
	Params        json.RawMessage
	// Log receives the task's log lines; the engine masks secret values.
	Log io.Writer
}

// Func runs one task kind and returns its output, which is encoded as JSON.
// Errors should carry a failure kind, and for Azure failures a reason and a
// hint (internal/failure), because they cross to the server as codes.
type Func func(ctx context.Context, env *Env, in Input) (any, error)
