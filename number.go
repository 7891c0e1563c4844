package openqq

import (
	"bytes"
	"fmt"
	"strconv"
)

// ID is a numeric QQ handle (a session id, a real QQ number, a group number).
// On the wire it is a decimal string, as in the Openqq examples; zero means
// unknown and is written as null. Decoding accepts a string, a number or null.
type ID int64

// MarshalJSON writes the id as a JSON string, or null when it is zero.
func (id ID) MarshalJSON() ([]byte, error) {
	if id == 0 {
		return []byte("null"), nil
	}
	return strconv.AppendQuote(nil, strconv.FormatInt(int64(id), 10)), nil
}

// UnmarshalJSON accepts "123", 123, "" and null.
func (id *ID) UnmarshalJSON(b []byte) error {
	n, err := parseJSONInt(b)
	if err != nil {
		return fmt.Errorf("openqq: id: %w", err)
	}
	*id = ID(n)
	return nil
}

// String returns the decimal form, or "" for an unknown id.
func (id ID) String() string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(int64(id), 10)
}

// ParseID parses a decimal id; the empty string is the zero ID.
func ParseID(s string) (ID, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("openqq: id %q: %w", s, err)
	}
	return ID(n), nil
}

// Int is a plain integer that the Openqq wire form writes as a decimal string
// ("flag":"0", "time":"1479787946"). Zero is written as "0", never null.
// Decoding accepts a string, a number or null.
type Int int64

// MarshalJSON writes the integer as a JSON string.
func (n Int) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatInt(int64(n), 10)), nil
}

// UnmarshalJSON accepts "12", 12, "" and null.
func (n *Int) UnmarshalJSON(b []byte) error {
	v, err := parseJSONInt(b)
	if err != nil {
		return fmt.Errorf("openqq: int: %w", err)
	}
	*n = Int(v)
	return nil
}

func parseJSONInt(b []byte) (int64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return 0, nil
	}
	if b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return 0, err
		}
		if s == "" {
			return 0, nil
		}
		return strconv.ParseInt(s, 10, 64)
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return n, nil
	}
	// Large ids sometimes arrive as floats (1.6e9); accept them when integral.
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("not an integer: %s", b)
	}
	return int64(f), nil
}
