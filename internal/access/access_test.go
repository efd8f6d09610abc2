package access

import (
	"errors"
	"strings"
	"testing"

	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
)

func TestAuthorize(t *testing.T) {
	acc := scope.Scope{Account: "a"}
	org := scope.Scope{Account: "a", Org: "o"}
	pa := scope.Scope{Account: "a", Org: "o", Project: "pa"}
	pb := scope.Scope{Account: "a", Org: "o", Project: "pb"}
	other := scope.Scope{Account: "b"}
	for _, tc := range []struct {
		key    scope.Scope
		role   Role
		target scope.Scope
		action Action
		want   string // "", "invisible", "forbidden"
	}{
		{pa, Viewer, pa, Read, ""},
		{pa, Viewer, pa, Edit, "forbidden"},
		{pa, Editor, pa, Edit, ""},
		{pa, Editor, pa, Manage, "forbidden"},
		{pa, Admin, pa, Manage, ""},
		{pa, Admin, pb, Read, "invisible"},
		{pa, Admin, org, Read, "forbidden"},
		{pa, Admin, acc, Read, "forbidden"},
		{org, Viewer, pb, Read, ""},
		{org, Editor, scope.Scope{Account: "a", Org: "o2"}, Read, "invisible"},
		{acc, Editor, pb, Edit, ""},
		{acc, Admin, other, Read, "invisible"},
	} {
		p := Principal{KeyID: "k", Scope: tc.key, Role: tc.role}
		err := p.Authorize(tc.target, tc.action)
		got := ""
		switch {
		case errors.Is(err, ErrInvisible):
			got = "invisible"
		case failure.Is(err, failure.Forbidden):
			got = "forbidden"
		case err != nil:
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%v %s -> %s %v: %q, want %q", tc.key, tc.role, tc.target, tc.action, got, tc.want)
		}
	}
	if err := System("x").Authorize(other, Manage); err != nil {
		t.Fatal(err)
	}
}

func TestCanGrant(t *testing.T) {
	ed := Principal{KeyID: "k", Scope: scope.Scope{Account: "a", Org: "o"}, Role: Admin}
	if err := ed.CanGrant(scope.Scope{Account: "a", Org: "o", Project: "p"}, Admin); err != nil {
		t.Fatal(err)
	}
	if err := ed.CanGrant(scope.Scope{Account: "a"}, Viewer); err == nil {
		t.Fatal("granted above its scope")
	}
	ed.Role = Editor
	if err := ed.CanGrant(scope.Scope{Account: "a", Org: "o"}, Viewer); err == nil {
		t.Fatal("an editor granted a key")
	}
}

func TestKeys(t *testing.T) {
	id, tok, err := NewKey("acme")
	if err != nil {
		t.Fatal(err)
	}
	s := tok.Reveal()
	if !strings.HasPrefix(s, "azk.acme."+id+".") || len(s) < 60 {
		t.Fatalf("key %q", s)
	}
	gotID, parsed, ok := ParseToken(s)
	if !ok || gotID != id || !parsed.Matches(tok.Hash()) {
		t.Fatal("round trip failed")
	}
	_, wrong, _ := ParseToken(s[:len(s)-1] + "x")
	if wrong.Matches(tok.Hash()) && !strings.HasSuffix(s, "x") {
		t.Fatal("a different key matched")
	}
	for _, bad := range []string{"", "azk", "pat.a.b.c", "azk.a..c", "azk.a.b.", "azk.a.b.c.d", "azk.a.b." + strings.Repeat("c", 600)} {
		if _, _, ok := ParseToken(bad); ok {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
	if strings.Contains(tok.String()+tok.GoString(), s) {
		t.Fatal("token prints itself")
	}
}
