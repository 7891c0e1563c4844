package webqq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"
)

// encodeR serializes an r= parameter as Mojo::JSON did (spec §12.1): keys in
// sorted order (maps), no HTML escaping, non-ASCII left raw, and "/" written
// as "\/". U+2028 and U+2029 are escaped, as both encoders do.
func encodeR(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("webqq: encode r: %w", err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	// "/" occurs only inside strings in JSON, so a plain replace is exact.
	return string(bytes.ReplaceAll(b, []byte("/"), []byte(`\/`))), nil
}

// rForm is the form body {r: encodeR(v)}.
func rForm(v any) (url.Values, error) {
	r, err := encodeR(v)
	if err != nil {
		return nil, err
	}
	return url.Values{"r": {r}}, nil
}

// epoch is the t= value of most calls: the time in epoch seconds.
func epoch() string { return strconv.FormatInt(time.Now().Unix(), 10) }

// randT is the t= value written as Perl's rand() (e.g. 0.8473920142).
func randT() string { return strconv.FormatFloat(rand.Float64(), 'f', 10, 64) }

// nullable is a JSON string or null: the original sends null for values it
// never learnt (login2's psessionid and ptwebqq).
func nullable(s string, known bool) any {
	if !known {
		return nil
	}
	return s
}
