// Package protocol is the server <-> delegate wire contract, in this one
// file. The server side is internal/delegate's Hub, the client side its
// Agent; nothing else speaks it.
//
// # Transport
//
// Pull-based, outbound HTTPS (or HTTP on loopback) from the delegate only:
// JSON request and response bodies, POST for every call, under Base. Every
// call carries the delegate token in "Authorization: Bearer <token>"; every
// call after Register also carries the delegate id Register returned in
// HeaderDelegate. The token is checked on every call (hash, constant-time
// compare), so a revoked token stops its delegates at their next contact.
//
// # Lifecycle
//
//  1. Register: name, tags, version, capabilities, concurrency. The answer
//     gives the delegate id (send it back on Register after a reconnect to
//     keep the same identity), the scope of the token, the heartbeat
//     interval, the lease duration and the long-poll timeout. The server
//     decides the intervals; the delegate follows them.
//  2. Heartbeat every HeartbeatInterval with the ids of the tasks it runs;
//     the answer lists tasks to cancel. A delegate that misses heartbeats
//     for ConnectedWindow is shown as disconnected and gets no new tasks.
//  3. Poll (long-poll, up to PollTimeout): "give me up to Max tasks" (the
//     server gives no more than the Concurrency registered). The server
//     answers as soon as it has claimed at least one task for this
//     delegate, or with an empty list at the timeout; the delegate polls
//     again at once (there is no fixed polling interval). A task is
//     offered only to a delegate whose tags include every selector of the
//     task (the connector's delegateSelectors and the step's), whose
//     capabilities include what the task requires (a managed-identity
//     script step: Kubernetes) and whose token scope is the task's scope
//     or above it: project connectors may use project, org and account
//     delegates; account connectors only account delegates. A revoked
//     token's poll ends at once with CodeTokenRevoked, and its delegates
//     claim nothing more. If the poll's request ends before the answer is
//     ready (the delegate is stopping), what it claimed goes back to the
//     queue without using an attempt.
//  4. A polled task is claimed with a lease that started when the server
//     claimed it. Task.LeaseEndMillis is the lease's end counted from when
//     the server received the poll; the delegate counts it from when it
//     sent the poll, which is earlier, so its idea of the lease's end is
//     never later than the server's (only durations cross the wire, never
//     clock readings). The delegate Extends the lease every third of it
//     (ExtendResponse.LeaseMillis, counted from when it sent the call);
//     the answer says whether the task was cancelled. If the delegate
//     cannot extend it stops the task itself a margin before its lease
//     runs out (a fifth of the lease, at least a second, at most half of
//     it): the server hands the task to another delegate or fails it only
//     once the lease has run out, so no task ever runs on two delegates at
//     once. A task that is not safe to run again (a script step) gets one
//     attempt: when its delegate is lost it fails with DelegateLost.
//  5. Logs: masked lines (secret values, each line of a multi-line value,
//     their JSON- and Go-quoted and base64 forms replaced) numbered from 1
//     for each run of the task (up to 2^32-1); a retried post stores
//     nothing twice. The server stores a run's lines after those of the
//     task's earlier runs (a task run again after its delegate was lost
//     keeps both), and masks them (and a result's error) again with the
//     task's secrets.
//  6. Result: the task.Result. Posting the same result again is a no-op
//     (idempotent); a result for a task the delegate no longer holds is
//     refused with CodeLeaseLost.
//  7. Release hands a claimed task back to the queue (a delegate stopping
//     on SIGTERM without time to finish; one whose cancellation was asked
//     for ends CANCELLED instead). A script step is not handed back once it
//     ran: its delegate posts a failed result saying it stopped. Unregister
//     says goodbye.
//
// # Secrets
//
// A task's secrets are decrypted by the server only when a delegate claims
// the task, only for that delegate, and travel in the Poll answer over the
// delegate's authenticated channel. They are never stored in a task row or
// a log, and Secret redacts itself everywhere but on the wire. A task's
// Params (a script and its environment may carry secrets) are stored
// encrypted and opened only for the Poll answer too.
//
// # Errors
//
// A refused call answers a non-2xx status and an ErrorBody whose Code is
// one of the Code* constants and whose Kind is a failure.Kind name. The
// delegate acts on the code, never on the message: CodeUnauthenticated and
// CodeTokenRevoked stop it; CodeUnknownDelegate makes it register again;
// CodeLeaseLost makes it drop the task; anything else (and transport
// errors) is retried with bounded exponential backoff.
package protocol

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/azimuthcd/azimuth/internal/task"
)

// Version is the protocol's version; Register carries it.
const Version = 1

// Base is the path prefix of every protocol call.
const Base = "/ng/api/azimuth/delegate"

// The calls. {id} is a task id.
const (
	PathRegister   = Base + "/register"
	PathHeartbeat  = Base + "/heartbeat"
	PathPoll       = Base + "/poll"
	PathExtend     = Base + "/tasks/{id}/extend"
	PathLogs       = Base + "/tasks/{id}/logs"
	PathResult     = Base + "/tasks/{id}/result"
	PathRelease    = Base + "/tasks/{id}/release"
	PathUnregister = Base + "/unregister"
)

// HeaderDelegate carries the delegate id on every call after Register.
const HeaderDelegate = "X-Azimuth-Delegate"

// TokenPrefix starts every delegate token: azd.<account>.<tokenId>.<secret>.
const TokenPrefix = "azd"

// Error codes.
const (
	CodeUnauthenticated = "DELEGATE_UNAUTHENTICATED" // no, malformed or unknown token
	CodeTokenRevoked    = "DELEGATE_TOKEN_REVOKED"   // the token was revoked: stop
	CodeUnknownDelegate = "DELEGATE_UNKNOWN"         // register again
	CodeLeaseLost       = "TASK_LEASE_LOST"          // the delegate no longer holds the task
	CodeNotFound        = "NOT_FOUND"
	CodeInvalid         = "INVALID_REQUEST"
	CodeUnavailable     = "UNAVAILABLE" // retry later
	CodeInternal        = "INTERNAL"
)

// ErrorBody is the body of every refused call.
type ErrorBody struct {
	Code    string `json:"code"`
	Kind    string `json:"kind"` // failure.Kind name
	Message string `json:"message"`
}

// Capabilities are what a delegate can offer, reported at Register.
type Capabilities struct {
	// ManagedIdentity is how the host's managed identity is reached: "imds"
	// (169.254.169.254), "appService" (IDENTITY_ENDPOINT) or "" (none
	// found).
	ManagedIdentity string `json:"managedIdentity,omitempty"`
	// Kubernetes is true inside a Kubernetes pod (KUBERNETES_SERVICE_HOST).
	Kubernetes bool   `json:"kubernetes"`
	OS         string `json:"os,omitempty"`
	Arch       string `json:"arch,omitempty"`
	// Kinds are the task kinds its executors run.
	Kinds []string `json:"kinds,omitempty"`
}

// RegisterRequest is the first call.
type RegisterRequest struct {
	// DelegateID is the id an earlier Register returned (a reconnect);
	// empty on first start.
	DelegateID   string       `json:"delegateId,omitempty"`
	Name         string       `json:"name"`
	Tags         []string     `json:"tags"`
	Version      string       `json:"version"`
	Protocol     int          `json:"protocol"`
	Concurrency  int          `json:"concurrency"`
	Capabilities Capabilities `json:"capabilities"`
}

// Scope is a token's scope.
type Scope struct {
	Account string `json:"accountIdentifier"`
	Org     string `json:"orgIdentifier,omitempty"`
	Project string `json:"projectIdentifier,omitempty"`
}

// RegisterResponse gives the delegate its id and the server's intervals.
type RegisterResponse struct {
	DelegateID            string `json:"delegateId"`
	Scope                 Scope  `json:"scope"`
	HeartbeatMillis       int64  `json:"heartbeatIntervalMs"`
	LeaseMillis           int64  `json:"leaseMs"`
	PollTimeoutMillis     int64  `json:"pollTimeoutMs"`
	ServerVersion         string `json:"serverVersion"`
	ConnectedWindowMillis int64  `json:"connectedWindowMs"`
}

// HeartbeatRequest says the delegate lives and what it runs.
type HeartbeatRequest struct {
	Running []string `json:"running"`
}

// HeartbeatResponse may change the interval and cancel tasks.
type HeartbeatResponse struct {
	HeartbeatMillis int64    `json:"heartbeatIntervalMs"`
	Cancel          []string `json:"cancel,omitempty"`
}

// PollRequest asks for up to Max tasks (the delegate's free slots).
type PollRequest struct {
	Max int `json:"max"`
}

// PollResponse holds the claimed tasks; empty at the long-poll's timeout.
type PollResponse struct {
	Tasks []Task `json:"tasks"`
}

// Task is a claimed task as the delegate receives it.
type Task struct {
	ID   string    `json:"id"`
	Kind task.Kind `json:"kind"`
	// Connector is the connector snapshot (Harness JSON; secret references
	// only); null for kinds without one.
	Connector        json.RawMessage `json:"connector,omitempty"`
	ConnectorVersion int64           `json:"connectorVersion"`
	Params           json.RawMessage `json:"params,omitempty"`
	// TimeoutMillis bounds the run. LeaseMillis is the time left of the
	// lease when the server answered; LeaseEndMillis the lease's end
	// counted from when the server received the poll (add it to when the
	// poll was sent; see Lifecycle 4).
	TimeoutMillis  int64 `json:"timeoutMs"`
	LeaseMillis    int64 `json:"leaseMs"`
	LeaseEndMillis int64 `json:"leaseEndMs,omitempty"`
	Attempt        int   `json:"attempt"`
	// Secrets are the connector's resolved secret values, by field path
	// (connector.SecretUse.Path), decrypted for this delegate only.
	Secrets []Secret `json:"secrets,omitempty"`
}

// Secret is one resolved secret value. It shows its value only on the
// wire (MarshalJSON) and through Value.
type Secret struct {
	Path  string
	value []byte
}

// NewSecret wraps a value.
func NewSecret(path string, value []byte) Secret { return Secret{Path: path, value: value} }

// Value returns the secret value.
func (s Secret) Value() []byte { return s.value }

// Wipe zeroes the value in place.
func (s Secret) Wipe() { clear(s.value) }

type wireSecret struct {
	Path  string `json:"path"`
	Value []byte `json:"value"` // base64
}

// MarshalJSON puts the value on the wire: only the Poll answer uses it.
func (s Secret) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireSecret{Path: s.Path, Value: s.value})
}

// UnmarshalJSON reads it back.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var w wireSecret
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	s.Path, s.value = w.Path, w.Value
	return nil
}

func (s Secret) String() string       { return fmt.Sprintf("Secret(%s, redacted)", s.Path) }
func (s Secret) GoString() string     { return s.String() }
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// ExtendResponse gives the new lease end and whether to cancel.
// LeaseExpiresAt is the server's clock (for people); the delegate uses
// LeaseMillis, the lease counted from when the server received the call,
// which it adds to when it sent it.
type ExtendResponse struct {
	LeaseExpiresAt time.Time `json:"leaseExpiresAt"`
	LeaseMillis    int64     `json:"leaseMs,omitempty"`
	Cancel         bool      `json:"cancel"`
}

// LogLine is one masked log line.
type LogLine struct {
	Seq  int64     `json:"seq"`
	At   time.Time `json:"at"`
	Line string    `json:"line"`
}

// LogsRequest posts log lines of a task.
type LogsRequest struct {
	Lines []LogLine `json:"lines"`
}

// ResultRequest posts a task's end.
type ResultRequest struct {
	Result task.Result `json:"result"`
}

// ReleaseRequest hands a task back.
type ReleaseRequest struct {
	Reason string `json:"reason"`
}

// Ack is the answer of calls that return nothing else.
type Ack struct {
	OK bool `json:"ok"`
}

// Millis converts a duration for the wire.
func Millis(d time.Duration) int64 { return d.Milliseconds() }

// Duration converts milliseconds from the wire.
func Duration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
