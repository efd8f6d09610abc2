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
	for _, tc := range []struct {
		name, key string
	}{
		{"empty", ""},
		{"prefix only", "azk"},
		{"another prefix", "pat.a.b.c"},
		{"empty id", "azk.a..c"},
		{"empty secret", "azk.a.b."},
		{"five parts", "azk.a.b.c.d"},
		{"too long", "azk.a.b." + strings.Repeat("c", 600)},
		// The id is looked up in the database: only NewKey's alphabet.
		{"id invalid UTF-8", "azk.a.\xff.c"},
		{"id half a rune", "azk.a.\xc3.c"},
		{"id NUL", "azk.a.b\x00.c"},
		{"id upper case", "azk.a.ABC.c"},
		{"id punctuation", "azk.a.a%00b.c"},
		{"id space", "azk.a.a b.c"},
		{"id too long", "azk.a." + strings.Repeat("a", MaxKeyIDLength+1) + ".c"},
	} {
		if id, _, ok := ParseToken(tc.key); ok {
			t.Errorf("%s: ParseToken(%q) accepted, id %q", tc.name, tc.key, id)
		}
	}
	if _, _, ok := ParseToken("azk.a." + strings.Repeat("a", MaxKeyIDLength) + ".c"); !ok {
		t.Error("an id of the maximum length was refused")
	}
	if strings.Contains(tok.String()+tok.GoString(), s) {
		t.Fatal("token prints itself")
	}
}
