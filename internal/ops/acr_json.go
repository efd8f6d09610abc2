package ops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Tag lists are the one large JSON Azimuth reads and writes: a registry
// page of 1000 tags, and task outputs of up to 10,000. encoding/json's
// reflection took most of a 100,000-tag listing's CPU, so tags have a
// decoder and an encoder of their own. Both handle any valid JSON (unknown
// fields skipped, escapes decoded); anything unusual falls back to
// encoding/json.

var errTagJSON = errors.New("malformed JSON")

// tagScanner reads JSON from b.
type tagScanner struct {
	b []byte
	i int
}

func (s *tagScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (s *tagScanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *tagScanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// str reads a string; escapes are decoded by encoding/json.
func (s *tagScanner) str() (string, error) {
	b, err := s.strBytes()
	if err != nil || b != nil {
		return string(b), err
	}
	return s.escapedStr()
}

// strBytes returns a string's bytes when it has no escape and is valid
// UTF-8 (the fast path), else nil with the tagScanner left at the string.
// The bytes are the input's own: no allocation.
func (s *tagScanner) strBytes() ([]byte, error) {
	if !s.eat('"') {
		return nil, errTagJSON
	}
	rest := s.b[s.i:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil, errTagJSON
	}
	span := rest[:end:end]
	plain := true
	for _, c := range span {
		if c < 0x20 {
			return nil, errTagJSON
		}
		if c == '\\' || c >= 0x80 {
			plain = false
		}
	}
	if !plain && (bytes.IndexByte(span, '\\') >= 0 || !utf8.Valid(span)) {
		s.i-- // back to the opening quote
		return nil, nil
	}
	s.i += end + 1
	return span, nil
}

// key reads an object key without allocating when it has no escape.
func (s *tagScanner) key() ([]byte, error) {
	b, err := s.strBytes()
	if err != nil || b != nil {
		return b, err
	}
	k, err := s.escapedStr()
	return []byte(k), err
}

// keyIs reports whether key k names field f (ASCII) the way encoding/json
// matches keys: exactly, or else case-insensitively (strings.EqualFold,
// which also folds a few non-ASCII letters onto ASCII ones).
func keyIs(k []byte, f string) bool {
	if string(k) == f {
		return true
	}
	for _, c := range k {
		if c >= 0x80 {
			return strings.EqualFold(string(k), f)
		}
	}
	if len(k) != len(f) {
		return false
	}
	for i, a := range k {
		b := f[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// escapedStr reads a string with escapes (or invalid UTF-8, replaced as
// encoding/json does); the tagScanner is at its opening quote.
func (s *tagScanner) escapedStr() (string, error) {
	start := s.i
	s.i++
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '\\':
			s.i += 2
			continue
		case c == '"':
			s.i++
			var out string
			if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
				return "", err
			}
			return out, nil
		case c < 0x20:
			return "", errTagJSON
		}
		s.i++
	}
	return "", errTagJSON
}

// skip passes over one value of any kind.
func (s *tagScanner) skip() error {
	switch c := s.peek(); {
	case c == '"':
		b, err := s.strBytes()
		if err != nil || b != nil {
			return err
		}
		_, err = s.escapedStr()
		return err
	case c == '{':
		return s.object(func([]byte) error { return s.skip() })
	case c == '[':
		return s.array(s.skip)
	case s.i >= len(s.b):
		return errTagJSON
	default: // number, true, false, null
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				s.i += len(lit)
				return s.delimited()
			}
		}
		start := s.i
		for s.i < len(s.b) && strings.IndexByte("+-.0123456789eE", s.b[s.i]) >= 0 {
			s.i++
		}
		if !validJSONNumber(s.b[start:s.i]) {
			return errTagJSON
		}
		return s.delimited()
	}
}

// delimited checks that a literal ends where a value may end.
func (s *tagScanner) delimited() error {
	if s.i < len(s.b) && strings.IndexByte(",}] \t\n\r", s.b[s.i]) < 0 {
		return errTagJSON
	}
	return nil
}

// validJSONNumber is JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validJSONNumber(b []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// object reads {"k": v, ...}; field must consume each value. key is the
// input's own bytes, valid only during the call.
func (s *tagScanner) object(field func(key []byte) error) error {
	if !s.eat('{') {
		return errTagJSON
	}
	if s.eat('}') {
		return nil
	}
	for {
		k, err := s.key()
		if err != nil {
			return err
		}
		if !s.eat(':') {
			return errTagJSON
		}
		if err := field(k); err != nil {
			return err
		}
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return nil
		}
		return errTagJSON
	}
}

// array reads [v, ...]; elem must consume each value.
func (s *tagScanner) array(elem func() error) error {
	if !s.eat('[') {
		return errTagJSON
	}
	if s.eat(']') {
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			return nil
		}
		return errTagJSON
	}
}

// optString reads a string or null.
func (s *tagScanner) optString() (string, error) {
	if s.peek() == 'n' {
		return "", s.skip()
	}
	return s.str()
}

func (s *tagScanner) optTime() (time.Time, error) {
	if s.peek() == 'n' {
		return time.Time{}, s.skip()
	}
	b, err := s.strBytes()
	if err != nil {
		return time.Time{}, err
	}
	if b != nil {
		if t, ok := parseUTC(b); ok {
			return t, nil
		}
		if len(b) == 0 {
			return time.Time{}, nil
		}
		return time.Parse(time.RFC3339Nano, string(b))
	}
	v, err := s.escapedStr()
	if err != nil || v == "" {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, v)
}

// parseUTC is the fast path of RFC 3339 for the form registries send,
// 2006-01-02T15:04:05[.fraction]Z; ok is false for anything else.
func parseUTC(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(p []byte) (int, bool) {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	ns := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		f, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			f *= 10
		}
		ns = f
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
	if t.Day() != d { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}

// tagObject reads one tag object: ACR's (name, digest, createdTime,
// lastUpdateTime, and fields skipped) or TagInfo's own.
func (s *tagScanner) tagObject(t *TagInfo) error {
	return s.object(func(k []byte) error {
		var err error
		switch {
		case keyIs(k, "name"):
			t.Name, err = s.optString()
		case keyIs(k, "digest"):
			t.Digest, err = s.optString()
		case keyIs(k, "createdTime"):
			t.CreatedTime, err = s.optTime()
		case keyIs(k, "lastUpdateTime"):
			t.LastUpdateTime, err = s.optTime()
		default:
			err = s.skip()
		}
		return err
	})
}

// decodeACRTags reads the tags of an /acr/v1/{repo}/_tags body
// ({"registry", "imageName", "tags": [...]}) or, with names, of a
// /v2/{repo}/tags/list body ({"name", "tags": ["v1", ...]}).
func decodeACRTags(b []byte, names bool) ([]TagInfo, error) {
	s := &tagScanner{b: b}
	out := make([]TagInfo, 0, acrPageMax)
	err := s.object(func(k []byte) error {
		// Keys match case-insensitively and the last of a repeated key
		// wins, as in encoding/json.
		if !keyIs(k, "tags") {
			return s.skip()
		}
		out = out[:0]
		if s.peek() == 'n' {
			return s.skip()
		}
		return s.array(func() error {
			var t TagInfo
			var err error
			if names {
				t.Name, err = s.str()
			} else {
				err = s.tagObject(&t)
			}
			out = append(out, t)
			return err
		})
	})
	if s.ws(); err == nil && s.i != len(s.b) {
		err = errTagJSON
	}
	if err != nil {
		return nil, fmt.Errorf("decode a tag list: %w", err)
	}
	return out, nil
}

// MarshalJSON writes a tag without reflection.
func (t TagInfo) MarshalJSON() ([]byte, error) { return t.appendJSON(make([]byte, 0, 160)), nil }

func (t TagInfo) appendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = AppendJSONString(b, t.Name)
	if t.Digest != "" {
		b = append(b, `,"digest":`...)
		b = AppendJSONString(b, t.Digest)
	}
	if !t.CreatedTime.IsZero() {
		b = append(b, `,"createdTime":"`...)
		b = append(AppendTime(b, t.CreatedTime), '"')
	}
	if !t.LastUpdateTime.IsZero() {
		b = append(b, `,"lastUpdateTime":"`...)
		b = append(AppendTime(b, t.LastUpdateTime), '"')
	}
	return append(b, '}')
}

// AppendTime appends t as encoding/json writes a time (RFC 3339 with
// nanoseconds, trailing zeros dropped). UTC times of years 0-9999, every
// time a registry gives, are written directly; time.AppendFormat's layout
// interpretation was a tenth of a tag listing's encoding.
func AppendTime(b []byte, t time.Time) []byte {
	if t.Location() != time.UTC || t.Year() < 0 || t.Year() > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	digits := func(b []byte, v, n int) []byte {
		var buf [9]byte
		for i := n - 1; i >= 0; i-- {
			buf[i] = byte('0' + v%10)
			v /= 10
		}
		return append(b, buf[:n]...)
	}
	b = digits(b, y, 4)
	b = append(b, '-')
	b = digits(b, int(mo), 2)
	b = append(b, '-')
	b = digits(b, d, 2)
	b = append(b, 'T')
	b = digits(b, h, 2)
	b = append(b, ':')
	b = digits(b, mi, 2)
	b = append(b, ':')
	b = digits(b, sec, 2)
	if ns := t.Nanosecond(); ns != 0 {
		n := 9
		for ns%10 == 0 {
			ns /= 10
			n--
		}
		b = append(b, '.')
		b = digits(b, ns, n)
	}
	return append(b, 'Z')
}

// AppendJSONString quotes s as encoding/json would; plain ASCII (every tag
// name and digest) is copied as is.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// UnmarshalJSON reads a tag without reflection.
func (t *TagInfo) UnmarshalJSON(b []byte) error {
	*t = TagInfo{}
	s := &tagScanner{b: b}
	if err := s.tagObject(t); err != nil {
		return fmt.Errorf("decode a tag: %w", err)
	}
	return nil
}

// MarshalJSON writes a page, its tags without reflection.
func (p TagPage) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(struct {
		LoginServer   string `json:"loginServer"`
		Repository    string `json:"repository"`
		OrderBy       string `json:"orderBy"`
		NextPageToken string `json:"nextPageToken,omitempty"`
		Scanned       int    `json:"scanned"`
	}{p.LoginServer, p.Repository, p.OrderBy, p.NextPageToken, p.Scanned})
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(head)+16+130*len(p.Tags))
	b = append(b, head[:len(head)-1]...)
	b = append(b, `,"tags":[`...)
	for i, t := range p.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = t.appendJSON(b)
	}
	return append(b, "]}"...), nil
}

// UnmarshalJSON reads a page, its tags without reflection.
func (p *TagPage) UnmarshalJSON(b []byte) error {
	*p = TagPage{}
	s := &tagScanner{b: b}
	err := s.object(func(k []byte) error {
		var err error
		switch {
		case keyIs(k, "loginServer"):
			p.LoginServer, err = s.optString()
		case keyIs(k, "repository"):
			p.Repository, err = s.optString()
		case keyIs(k, "orderBy"):
			p.OrderBy, err = s.optString()
		case keyIs(k, "nextPageToken"):
			p.NextPageToken, err = s.optString()
		case keyIs(k, "scanned"):
			start := s.i
			if err = s.skip(); err == nil {
				err = json.Unmarshal(s.b[start:s.i], &p.Scanned)
			}
		case keyIs(k, "tags"):
			if s.peek() == 'n' {
				p.Tags = nil
				return s.skip()
			}
			p.Tags = []TagInfo{}
			err = s.array(func() error {
				var t TagInfo
				err := s.tagObject(&t)
				p.Tags = append(p.Tags, t)
				return err
			})
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("decode a tag page: %w", err)
	}
	return nil
}
