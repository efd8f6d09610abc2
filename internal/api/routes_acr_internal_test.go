package api

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/ops"
)

// TestACRBuildDetailsEncoding: the hand-written encoder of getBuildDetails
// writes what encoding/json writes for the DTO.
func TestACRBuildDetailsEncoding(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC)
	for _, tc := range []struct {
		login, repo string
		tag         ops.TagInfo
	}{
		{"r.azurecr.io", "team/api", ops.TagInfo{Name: "v1.2.0", Digest: "sha256:abc", CreatedTime: created, LastUpdateTime: created.Add(time.Hour)}},
		{"r.azurecr.io", "team/api", ops.TagInfo{Name: "latest"}},
		{"r.azurecr.io", "a<b>&\"c\\", ops.TagInfo{Name: "t\u00e9\n\u2028", Digest: "x"}},
	} {
		want, err := json.Marshal(acrBuildDetailsOf(tc.login, tc.repo, tc.tag.Name, tc.tag.Digest, tc.tag.CreatedTime, tc.tag.LastUpdateTime))
		if err != nil {
			t.Fatal(err)
		}
		got := appendBuildDetails(nil, tc.login, tc.repo, tc.tag)
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		_ = json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

// TestACRTagsParamsPageSize: no page size is the order's default, and no
// page size exceeds the largest page.
func TestACRTagsParamsPageSize(t *testing.T) {
	for q, want := range map[string]int{
		"":                                 ops.DefaultTagPageSize,
		"?orderBy=version":                 ops.MaxTagPageSize,
		"?orderBy=Version&pageSize=0":      ops.MaxTagPageSize,
		"?pageSize=250":                    250,
		"?pageSize=99999":                  ops.MaxTagPageSize,
		"?orderBy=version&pageSize=123456": ops.MaxTagPageSize,
	} {
		p, err := acrTagsParams(httptest.NewRequest("GET", "/x"+q, nil))
		if err != nil || p.PageSize != want {
			t.Errorf("%q: pageSize %d, %v; want %d", q, p.PageSize, err, want)
		}
	}
}
