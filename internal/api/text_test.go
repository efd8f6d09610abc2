package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/azimuthcd/azimuth/internal/failure"
)

func TestCheckBodyText(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []failure.FieldError // nil: no complaint
	}{
		{"plain", `{"a":"b","c":[1,"x",{"d":null}]}`, nil},
		{"escaped backslash, not NUL", `{"a":"\\u0000"}`, nil},
		{"replacement character is text", `{"a":"\ufffd"}`, nil},
		{"malformed JSON is the decoder's", "{\"a\":\"\xff", nil},
		{"NUL value", `{"secret":{"name":"x","description":"a\u0000"}}`,
			[]failure.FieldError{{Field: "secret.description", Message: textMessage[textNUL]}}},
		{"invalid UTF-8 value", "{\"secret\":{\"spec\":{\"value\":\"\xc3\"}}}",
			[]failure.FieldError{{Field: "secret.spec.value", Message: textMessage[textNotUTF8]}}},
		{"array element", `{"f":{"ids":["ok","b\u0000"]}}`,
			[]failure.FieldError{{Field: "f.ids[1]", Message: textMessage[textNUL]}}},
		{"after nested values", `{"a":{"b":[{"c":1},[2,3]],"d":"x"},"e":"\u0000"}`,
			[]failure.FieldError{{Field: "e", Message: textMessage[textNUL]}}},
		{"bad key", `{"tags":{"k\u0000":"v","ok":"w\u0000"}}`,
			[]failure.FieldError{{Field: "tags", Message: keyMessage[textNUL]}, {Field: "tags.ok", Message: textMessage[textNUL]}}},
		{"bad top-level key", "{\"\xff\":1}", []failure.FieldError{{Field: "body", Message: keyMessage[textNotUTF8]}}},
		{"top-level string", `"\u0000"`, []failure.FieldError{{Field: "body", Message: textMessage[textNUL]}}},
		{"top-level array", `["a","\u0000"]`, []failure.FieldError{{Field: "[1]", Message: textMessage[textNUL]}}},
	} {
		err := checkBodyText([]byte(tc.body))
		var got []failure.FieldError
		if fe, ok := failure.As(err); ok {
			got = fe.Fields
		} else if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

func TestCheckRequestText(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, target string
		want                  string // the field named, "" for none
	}{
		{"clean", "/x/{identifier}", "/x/abc?searchTerm=a%20b", ""},
		{"path NUL", "/x/{identifier}", "/x/a%00b", "identifier"},
		{"path not UTF-8", "/x/{id}", "/x/%ff", "id"},
		{"trailing wildcard", "/x/{rest...}", "/x/a/%c3", "rest"},
		{"query NUL", "/x", "/x?searchTerm=%00", "searchTerm"},
		{"second value", "/x", "/x?identifiers=a&identifiers=%fe", "identifiers"},
		{"bad parameter name", "/x", "/x?%ff=1", "query"},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		mux := http.NewServeMux()
		var err error
		mux.HandleFunc("GET "+tc.pattern, func(_ http.ResponseWriter, r *http.Request) { err = checkRequestText(r, tc.pattern) })
		mux.ServeHTTP(httptest.NewRecorder(), r)
		got := ""
		if fe, ok := failure.As(err); ok && len(fe.Fields) > 0 {
			got = fe.Fields[0].Field
		}
		if got != tc.want {
			t.Errorf("%s: %v, want a complaint about %q", tc.name, err, tc.want)
		}
	}
}
