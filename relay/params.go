package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"

	"github.com/openqq-relay/openqq"
)

// Params are the request parameters of one call: the first value of each
// name, from the query, then a form body or a JSON body (spec §6.2).
type Params map[string]string

// reserved names steer the request itself and never select or search
// anything ([GO] spec §6.9: the original died or matched nothing on them).
var reserved = map[string]bool{
	"client":       true,
	"datatype":     true,
	"callback":     true,
	"_":            true,
	"access_token": true,
	"async":        true,
}

// Has reports whether the parameter was given, even empty.
func (p Params) Has(name string) bool {
	_, ok := p[name]
	return ok
}

// Bool reads a flag with Perl truthiness: absent, "" and "0" are false,
// anything else (even "false") is true, as the original reads async.
func (p Params) Bool(name string) bool {
	v := p[name]
	return v != "" && v != "0"
}

// Criteria returns the parameters minus the reserved ones, as search keys.
func (p Params) Criteria() openqq.Criteria {
	c := openqq.Criteria{}
	for k, v := range p {
		if !reserved[k] {
			c[k] = v
		}
	}
	return c
}

// selectors returns the named parameters that were given with a value.
// [GO] An empty selector (uid=) selects nothing instead of matching every
// contact whose field is unknown, so a write never hits a random target.
func (p Params) selectors(names ...string) openqq.Criteria {
	c := openqq.Criteria{}
	for _, k := range names {
		if v := p[k]; v != "" {
			c[k] = v
		}
	}
	return c
}

// command returns the parameters a command carries to the connector: the
// non-reserved ones with a value, so the connector's lookups see exactly the
// selectors the relay validated (an empty one selects nothing here).
func (p Params) command() map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		if !reserved[k] && v != "" {
			out[k] = v
		}
	}
	return out
}

// badRequest is the answer to a body that cannot be read as parameters.
func badRequest(format string, args ...any) *openqq.Error {
	return &openqq.Error{
		Code:       openqq.ErrBadRequest.Code,
		Status:     "bad request: " + fmt.Sprintf(format, args...),
		HTTPStatus: openqq.ErrBadRequest.HTTPStatus,
	}
}

// ParseParams merges the raw query string with a request body of the given
// Content-Type: application/x-www-form-urlencoded, multipart/form-data (file
// parts are skipped) or JSON (our addition; an object whose values may be
// strings, numbers, booleans, null or arrays of those). Other bodies are
// ignored, as the original ignores them. The first value of a repeated name
// wins, query first ([GO] spec §6.2: the original turned repeats into arrays
// that broke sending). Malformed pairs in a query or form are skipped, as
// Mojolicious does; a malformed JSON or multipart body is an error. Invalid
// UTF-8 becomes U+FFFD.
func ParseParams(query, contentType string, body []byte) (Params, error) {
	p := Params{}
	q, _ := url.ParseQuery(query) // keeps the well-formed pairs
	p.addValues(q)
	if len(body) == 0 || contentType == "" {
		return p, nil
	}
	mt, mp, err := mime.ParseMediaType(contentType)
	if err != nil {
		return p, nil // not a body type we read
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		f, _ := url.ParseQuery(string(body))
		p.addValues(f)
	case mt == "multipart/form-data":
		if err := p.addMultipart(body, mp["boundary"]); err != nil {
			return nil, err
		}
	case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json"):
		if err := p.addJSON(body); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p Params) add(k, v string) {
	if k == "" {
		return
	}
	k, v = strings.ToValidUTF8(k, "\uFFFD"), strings.ToValidUTF8(v, "\uFFFD")
	if _, ok := p[k]; !ok {
		p[k] = v
	}
}

// addValues adds the first value of each name; url.Values keeps each name's
// values in request order, which is all "first wins" needs.
func (p Params) addValues(v url.Values) {
	for k, vs := range v {
		if len(vs) > 0 {
			p.add(k, vs[0])
		}
	}
}

func (p Params) addMultipart(body []byte, boundary string) error {
	if boundary == "" {
		return badRequest("multipart body without boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return badRequest("multipart: %v", err)
		}
		name := part.FormName()
		if name == "" || part.FileName() != "" {
			continue // file uploads carry no parameters
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return badRequest("multipart: %v", err)
		}
		p.add(name, string(b))
	}
}

func (p Params) addJSON(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return badRequest("json body: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return badRequest("json body must be an object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("json body: data after the object")
	}
	for k, v := range obj {
		s, ok, err := jsonScalar(v)
		if err != nil {
			return badRequest("json body: %q: %v", k, err)
		}
		if ok {
			p.add(k, s)
		}
	}
	return nil
}

// jsonScalar turns a JSON value into a parameter string. Arrays of scalars
// join with commas, as member_id lists are written; null is absent.
func jsonScalar(v any) (string, bool, error) {
	switch v := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case bool:
		if v {
			return "1", true, nil
		}
		return "0", true, nil
	case json.Number:
		return numberString(v), true, nil
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			switch e.(type) {
			case []any, map[string]any:
				return "", false, errors.New("nested value in array")
			}
			if s, ok, _ := jsonScalar(e); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ","), true, nil
	}
	return "", false, errors.New("objects are not parameters")
}

// numberString writes integral numbers as integers, so 2.457053936e9 selects
// the same id as "2457053936".
func numberString(n json.Number) string {
	s := n.String()
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= -1<<63 && f < 1<<63 && f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return s
}

// splitList splits a comma-separated id list, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
