package relay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
)

const (
	contentTypeJSON = "application/json" // no charset, as Openqq (spec §6.2)
	contentTypeHTML = "text/html;charset=UTF-8"
)

// encodeJSON marshals v as Mojo::JSON does (spec §6.2): non-ASCII and <>&
// raw, "/" escaped as "\/", no trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	// "/" only ever occurs inside JSON strings, and encoding/json never
	// writes "\/" itself, so a plain replace is exact.
	return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`)), nil
}

// encodeRaw re-renders JSON produced elsewhere (command results, events) in
// the same style, with object keys sorted as Mojo::JSON sorts them.
func encodeRaw(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return encodeJSON(v)
}

// callbackPattern accepts JavaScript identifiers and dotted paths
// (jQuery's "jQuery123_456", "app.onEvent"); anything else could inject
// script into the JSONP response.
var callbackPattern = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)

const maxCallbackLen = 128

func validCallback(cb string) bool {
	return len(cb) <= maxCallbackLen && callbackPattern.MatchString(cb)
}

// jsonpCallback returns the callback to wrap the response in, when the
// caller asked for JSONP (datatype=jsonp) with a safe or default callback.
func (h *Handler) jsonpCallback(r *http.Request) (string, bool) {
	p := paramsOf(r)
	if p["datatype"] != "jsonp" {
		return "", false
	}
	cb := p["callback"]
	if cb == "" {
		return "jsoncallback" + strconv.FormatInt(h.now().Unix(), 10), true
	}
	return cb, validCallback(cb)
}

// writeBody writes a rendered JSON body, wrapped as JSONP when asked, with
// the status given (0 means 200). Every JSON answer goes through here.
func (h *Handler) writeBody(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	if status == 0 {
		status = http.StatusOK
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentTypeJSON)
	if cb, ok := h.jsonpCallback(r); ok {
		wrapped := make([]byte, 0, len(cb)+len(body)+2)
		wrapped = append(append(append(append(wrapped, cb...), '('), body...), ')')
		body = wrapped
	} else {
		// A JSONP script must stay executable; plain JSON must not be sniffed.
		hdr.Set("X-Content-Type-Options", "nosniff")
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body) //nolint:errcheck // the client went away; nothing to do
	}
}

// writeJSON renders v as a success answer with code 0 for the metrics.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := encodeJSON(v)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	infoOf(r).code = "0"
	h.writeBody(w, r, http.StatusOK, b)
}

// writeResult writes a connector's answer as it is, in our JSON style.
func (h *Handler) writeResult(w http.ResponseWriter, r *http.Request, code int, status int, raw []byte) {
	b, err := encodeRaw(raw)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	infoOf(r).code = strconv.Itoa(code)
	h.writeBody(w, r, status, b)
}
