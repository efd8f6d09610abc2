// Package audit is the audit trail's model: an event, and the hash chain that
// makes the trail tamper-evident. Each event's hash covers the previous
// event's hash and every field of the event, so editing, deleting or
// reordering a stored row breaks Verify. It is a model package: no I/O.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/azimuthcd/azimuth/internal/scope"
)

// Outcomes.
const (
	Success = "success" // the change was made
	Denied  = "denied"  // authentication or authorization refused the request
)

// Actor names used when no API key acts.
const (
	SystemActor    = "system"    // the server itself (bootstrap, rotation job, tasks)
	AnonymousActor = "anonymous" // a request without a valid API key
)

// Event is one entry of the trail. It never carries a secret value: Detail is
// a short human text written by the service (what changed, why denied).
type Event struct {
	Seq          int64       `json:"seq"`
	Time         time.Time   `json:"time"`
	ActorKeyID   string      `json:"actorKeyId"`
	ActorName    string      `json:"actorName"`
	Action       string      `json:"action"`
	ResourceType string      `json:"resourceType"`
	Scope        scope.Scope `json:"scope"`
	Identifier   string      `json:"identifier"`
	Outcome      string      `json:"outcome"`
	Detail       string      `json:"detail,omitempty"`
	Source       string      `json:"source,omitempty"`
	PrevHash     []byte      `json:"prevHash"`
	Hash         []byte      `json:"hash"`
}

// Seal sets e.PrevHash to prev, truncates the time to the millisecond the
// store keeps, and sets e.Hash. seq must already be set.
func (e *Event) Seal(prev []byte) {
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	e.PrevHash = append([]byte{}, prev...)
	e.Hash = e.digest()
}

// digest hashes the previous hash and every field, each length-prefixed so
// that no two different events encode the same.
func (e *Event) digest() []byte {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	str := func(s string) { field([]byte(s)) }
	num := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		field(n[:])
	}
	str("azimuth-audit-v1")
	field(e.PrevHash)
	num(e.Seq)
	num(e.Time.UnixMilli())
	str(e.ActorKeyID)
	str(e.ActorName)
	str(e.Action)
	str(e.ResourceType)
	str(e.Scope.Account)
	str(e.Scope.Org)
	str(e.Scope.Project)
	str(e.Identifier)
	str(e.Outcome)
	str(e.Detail)
	str(e.Source)
	return h.Sum(nil)
}

// ErrBroken is returned (wrapped) by Verify when the chain does not hold.
var ErrBroken = errors.New("audit chain broken")

// Verifier checks events one at a time, in sequence order.
type Verifier struct {
	prev  []byte
	next  int64
	count int64
}

// NewVerifier starts a verification at the beginning of the trail.
func NewVerifier() *Verifier { return &Verifier{next: 1} }

// Add checks the next event.
func (v *Verifier) Add(e Event) error {
	if e.Seq != v.next {
		return fmt.Errorf("%w: expected event %d, found %d (a row was deleted or inserted)", ErrBroken, v.next, e.Seq)
	}
	if !bytes.Equal(e.PrevHash, v.prev) {
		return fmt.Errorf("%w at event %d: it does not link to the event before it", ErrBroken, e.Seq)
	}
	if !bytes.Equal(e.digest(), e.Hash) {
		return fmt.Errorf("%w at event %d: its content does not match its hash (the row was edited)", ErrBroken, e.Seq)
	}
	v.prev = e.Hash
	v.next++
	v.count++
	return nil
}

// Finish checks that the chain ends where the store says it ends: head is the
// sequence number and hash the store recorded for its last event.
func (v *Verifier) Finish(headSeq int64, headHash []byte) (int64, error) {
	if headSeq != v.next-1 {
		return v.count, fmt.Errorf("%w: the trail ends at event %d but its head says %d (events were removed from the end)", ErrBroken, v.next-1, headSeq)
	}
	if !bytes.Equal(headHash, v.prev) {
		return v.count, fmt.Errorf("%w: the last event does not match the recorded head", ErrBroken)
	}
	return v.count, nil
}
