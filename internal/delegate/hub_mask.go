package delegate

import (
	"context"
	"encoding/json"
	"time"

	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/task"
)

// The server masks what a delegate sends about a task (log lines, the
// error of its result) again with the task's secret values: a delegate
// masks them already, but a server must not store a secret because one
// delegate forgot (an old version, a bug). The replica that offered the
// task keeps the masker built from the values it resolved then; another
// replica resolves them once when it first needs them.

// maskEntry is a task's masker (nil: the task has no secrets) and when to
// forget it.
type maskEntry struct {
	m        *engine.Masker
	forgetAt time.Time
}

// remember keeps the masker of task t's secrets until the task can no
// longer send anything.
func (h *Hub) remember(t store.Task, values [][]byte) {
	var m *engine.Masker
	if len(values) > 0 {
		m = engine.NewMasker(values)
	}
	h.mu.Lock()
	h.masks[t.ID] = maskEntry{m: m, forgetAt: t.Deadline.Add(h.opts.Lease)}
	h.mu.Unlock()
}

// maskerFor returns the masker of task t's secrets, resolving them when
// this replica has none yet; nil when the task has none, or they cannot
// be resolved (then the delegate's masking stands alone, and the server
// log says why).
func (h *Hub) maskerFor(ctx context.Context, t store.Task) *engine.Masker {
	h.mu.Lock()
	e, ok := h.masks[t.ID]
	h.mu.Unlock()
	if ok {
		return e.m
	}
	if len(t.ConnectorDoc) == 0 {
		h.remember(t, nil)
		return nil
	}
	var c connector.Connector
	if err := json.Unmarshal(t.ConnectorDoc, &c); err != nil {
		h.log.Warn("read a task's connector to mask what its delegate sent", "task", t.ID, "err", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	vals, err := h.secretsFor(ctx, t, &c)
	if err != nil {
		h.log.Warn("resolve a task's secrets to mask what its delegate sent", "task", t.ID, "err", err)
		return nil
	}
	values := make([][]byte, 0, len(vals))
	for _, v := range vals {
		values = append(values, v.value.Reveal())
	}
	h.remember(t, values)
	for _, v := range vals {
		v.value.Wipe()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.masks[t.ID].m
}

// maskError masks the message and hint of a task's error.
func maskError(m *engine.Masker, e *task.Error) {
	if m == nil || e == nil {
		return
	}
	e.Message, e.Hint = m.Mask(e.Message), m.Mask(e.Hint)
}

// forgetMasks drops the maskers of tasks past their time.
func (h *Hub) forgetMasks() {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, e := range h.masks {
		if now.After(e.forgetAt) {
			delete(h.masks, id)
		}
	}
}
