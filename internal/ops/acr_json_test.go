package ops

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// acrPlainTag and acrPlainPage are TagInfo and TagPage without their own JSON
// methods: what encoding/json makes of the same data.
type acrPlainTag struct {
	Name           string    `json:"name"`
	Digest         string    `json:"digest,omitempty"`
	CreatedTime    time.Time `json:"createdTime,omitzero"`
	LastUpdateTime time.Time `json:"lastUpdateTime,omitzero"`
}

type acrPlainPage struct {
	LoginServer   string        `json:"loginServer"`
	Repository    string        `json:"repository"`
	OrderBy       string        `json:"orderBy"`
	Tags          []acrPlainTag `json:"tags"`
	NextPageToken string        `json:"nextPageToken,omitempty"`
	Scanned       int           `json:"scanned"`
}

const acrTagsBody = `{"registry":"r.azurecr.io","imageName":"team/api","tags":[
 {"name":"v1","digest":"sha256:aa","createdTime":"2024-02-01T09:00:00Z","lastUpdateTime":"2024-02-01T09:00:00.1234567Z","signed":false,
  "changeableAttributes":{"deleteEnabled":true,"writeEnabled":true,"readEnabled":true,"listEnabled":true},"quarantine":null,"n":[1,2.5e3,{"x":[]}]},
 {"name":"caf\u00e9\"\\\/","digest":null,"createdTime":"2024-03-01T10:00:00+02:00"},
 {"name":"only"}
]}`

func TestDecodeACRTags(t *testing.T) {
	got, err := decodeACRTags([]byte(acrTagsBody), false)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Tags []acrPlainTag `json:"tags"`
	}
	if err := json.Unmarshal([]byte(acrTagsBody), &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.Tags) {
		t.Fatalf("%d tags, want %d", len(got), len(want.Tags))
	}
	for i := range got {
		if acrPlainTag(got[i]) != want.Tags[i] {
			t.Errorf("tag %d: %+v, want %+v", i, got[i], want.Tags[i])
		}
	}
	names, err := decodeACRTags([]byte(`{"name":"team/api","tags":["v1","v2"]}`), true)
	if err != nil || len(names) != 2 || names[1].Name != "v2" {
		t.Fatalf("%v %v", names, err)
	}
	for _, bad := range []string{``, `{`, `{"tags":[{"name":"v1"}`, `{"tags":[1]}`, `{"tags":[{"name":"v1"}]} x`, `{"tags":[{"name":"\x01"}]}`,
		`{"tags":[{"name":"v1","createdTime":"yesterday"}]}`, `{"tags":[{"name":"\q"}]}`, `{"a":tru}`, `{"a" 1}`} {
		if _, err := decodeACRTags([]byte(bad), false); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestTagPageJSON(t *testing.T) {
	p := TagPage{LoginServer: "r.azurecr.io", Repository: "team/api", OrderBy: OrderTimeDesc, NextPageToken: "tok", Scanned: 3, Tags: []TagInfo{
		{Name: "v1", Digest: "sha256:aa", CreatedTime: time.Date(2024, 2, 1, 9, 0, 0, 123, time.UTC), LastUpdateTime: time.Date(2024, 2, 2, 9, 0, 0, 0, time.UTC)},
		{Name: "<odd>\"\u00e9"},
	}}
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	pp := acrPlainPage{LoginServer: p.LoginServer, Repository: p.Repository, OrderBy: p.OrderBy, NextPageToken: p.NextPageToken, Scanned: p.Scanned}
	for _, tg := range p.Tags {
		pp.Tags = append(pp.Tags, acrPlainTag(tg))
	}
	want, _ := json.Marshal(pp)
	var g, w any
	_ = json.Unmarshal(got, &g)
	_ = json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("marshal:\n%s\nwant\n%s", got, want)
	}
	var back TagPage
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("round trip: %+v", back)
	}
	var empty TagPage
	if err := json.Unmarshal([]byte(`{"loginServer":"x","tags":[],"scanned":0,"extra":{"a":[1]}}`), &empty); err != nil || empty.Tags == nil || len(empty.Tags) != 0 {
		t.Fatalf("%+v %v", empty, err)
	}
	if err := json.Unmarshal([]byte(`{"scanned":"x"}`), &empty); err == nil {
		t.Error("scanned as a string decoded")
	}
}

// FuzzDecodeACRTags: whatever the bytes, the decoder does not panic, and
// what it accepts encoding/json accepts with the same tags.
func FuzzDecodeACRTags(f *testing.F) {
	f.Add([]byte(acrTagsBody))
	f.Add([]byte(`{"tags":[{"name":"a\u0000"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeACRTags(b, false)
		if err != nil {
			return
		}
		var want struct {
			Tags []acrPlainTag `json:"tags"`
		}
		if err := json.Unmarshal(b, &want); err != nil {
			if strings.Contains(err.Error(), "cannot unmarshal") || strings.Contains(err.Error(), "parsing time") {
				return // a type encoding/json refuses where the decoder only skips
			}
			t.Fatalf("decoded what encoding/json refuses (%v): %q", err, b)
		}
		if len(got) != len(want.Tags) {
			t.Fatalf("%d tags, encoding/json %d: %q", len(got), len(want.Tags), b)
		}
	})
}

func TestParseUTC(t *testing.T) {
	for _, s := range []string{"2024-02-01T09:00:00Z", "2024-02-01T09:00:00.1Z", "2024-02-01T09:00:00.123456789Z", "2023-12-31T23:59:59.000000001Z",
		"2024-02-30T09:00:00Z", "2024-13-01T09:00:00Z", "2024-02-01T09:00:00+02:00", "2024-02-01T09:00:00.Z", "2024-02-01T09:00:00.1234567890Z",
		"2024-02-01T24:00:00Z", "2024-02-01 09:00:00Z", "x024-02-01T09:00:00Z"} {
		got, ok := parseUTC([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok && (err != nil || !got.Equal(want)) {
			t.Errorf("%s: fast path %v, time.Parse %v %v", s, got, want, err)
		}
		if !ok && err == nil && strings.HasSuffix(s, "Z") && !strings.Contains(s, " ") {
			t.Logf("%s: left to time.Parse", s)
		}
	}
}

func TestKeyIs(t *testing.T) {
	for _, k := range []string{"name", "NAME", "Name", "nAmE", "nam", "names", "naMf", "\u017fcanned", "Scanned", "scanne\u212a", "sc@nned", "tags", "TAGS", "ta\u017fs", "", "name\u0000"} {
		for _, f := range []string{"name", "scanned", "tags"} {
			if got, want := keyIs([]byte(k), f), strings.EqualFold(k, f); got != want {
				t.Errorf("keyIs(%q, %q) = %v, want %v", k, f, got, want)
			}
		}
	}
}

func TestAppendTime(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, tm := range []time.Time{
		time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC), time.Date(2024, 2, 1, 9, 0, 0, 123456700, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 2, 1, 9, 0, 0, 100000000, time.UTC),
		time.Date(2024, 7, 1, 9, 0, 0, 5, paris), time.Date(2024, 7, 1, 9, 0, 0, 5, time.FixedZone("", 0)),
	} {
		want, _ := json.Marshal(tm)
		if got := `"` + string(AppendTime(nil, tm)) + `"`; got != string(want) {
			t.Errorf("%v: %s, want %s", tm, got, want)
		}
	}
}

// acrBenchPage is a registry page of 1000 tags as ACR (and the simulator)
// writes them.
func acrBenchPage() []byte {
	b := []byte(`{"registry":"democontoso.azurecr.io","imageName":"load/many-tags-0","tags":[`)
	for i := range 1000 {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"name":"build-%05d","digest":"sha256:%064x","createdTime":"2024-02-01T09:%02d:%02d.1234567Z","lastUpdateTime":"2024-02-01T09:%02d:%02d.1234567Z","signed":false,"changeableAttributes":{"deleteEnabled":true,"writeEnabled":true,"readEnabled":true,"listEnabled":true}}`,
			i, i*7919, i/60%60, i%60, i/60%60, i%60)
	}
	return append(b, "]}\n"...)
}

func BenchmarkDecodeACRTags(b *testing.B) {
	page := acrBenchPage()
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		if tags, err := decodeACRTags(page, false); err != nil || len(tags) != 1000 {
			b.Fatal(len(tags), err)
		}
	}
}

func BenchmarkTagPageJSON(b *testing.B) {
	tags, _ := decodeACRTags(acrBenchPage(), false)
	p := TagPage{LoginServer: "democontoso.azurecr.io", Repository: "load/many-tags-0", OrderBy: OrderTimeDesc, Tags: tags, Scanned: len(tags)}
	for b.Loop() {
		out, _ := p.MarshalJSON()
		var back TagPage
		if err := back.UnmarshalJSON(out); err != nil || len(back.Tags) != 1000 {
			b.Fatal(err)
		}
	}
}
