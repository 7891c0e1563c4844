package store

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/openqq-relay/openqq"
)

// FuzzDecodeCommand feeds arbitrary stream entry fields to the decoder: bad
// input is an error, never a panic, and what decodes round-trips through the
// encoder unchanged.
func FuzzDecodeCommand(f *testing.F) {
	f.Add("c1", "send_friend_message", `{"id":"2","content":"hi"}`, "1700000000000", "1699999990000", "", true)
	f.Add("c2", "relogin", "", "1", "", "1", true)
	f.Add("", "x", "{}", "5", "5", "0", true)
	f.Add("c3", "x", `{"a":1}`, "5", "", "", true)
	f.Add("c4", "x", "null", "-5", "x", "2", true)
	f.Add("c5", "x", `{"a":"b"}`, "9223372036854775807", "-9223372036854775808", "1", false)
	f.Fuzz(func(t *testing.T, id, api, params, deadline, created, async string, withAll bool) {
		values := map[string]any{"id": id, "api": api, "deadline": deadline}
		if withAll {
			values["params"], values["created"], values["async"] = params, created, async
		}
		cmd, err := decodeCommand(values)
		if err != nil {
			return
		}
		if cmd.ID == "" || cmd.API == "" || cmd.Params == nil || cmd.Deadline.UnixMilli() <= 0 {
			t.Fatalf("decoded an invalid command %+v", cmd)
		}
		back := streamValues(encodeCommand(&cmd))
		again, err := decodeCommand(back)
		if err != nil {
			t.Fatalf("re-decoding %v: %v", back, err)
		}
		if !sameCommand(cmd, again) {
			t.Fatalf("round trip changed the command:\n%+v\n%+v", cmd, again)
		}
	})
}

// streamValues is what XRANGE returns for the fields XADD was given: every
// value as a string.
func streamValues(fields []any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(fields); i += 2 {
		k := fields[i].(string)
		switch v := fields[i+1].(type) {
		case string:
			m[k] = v
		case []byte:
			m[k] = string(v)
		case int64:
			m[k] = strconv.FormatInt(v, 10)
		}
	}
	return m
}

func sameCommand(a, b openqq.Command) bool {
	return a.ID == b.ID && a.API == b.API && reflect.DeepEqual(a.Params, b.Params) &&
		a.Deadline.Equal(b.Deadline) && a.Created.Equal(b.Created) && a.Async == b.Async
}

func TestDecodeCommandRejects(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{"id": "c", "api": "x", "params": `{"a":"b"}`, "deadline": "1700000000000"}
	}
	for name, mutate := range map[string]func(map[string]any){
		"no id":           func(m map[string]any) { delete(m, "id") },
		"no api":          func(m map[string]any) { m["api"] = "" },
		"no deadline":     func(m map[string]any) { delete(m, "deadline") },
		"zero deadline":   func(m map[string]any) { m["deadline"] = "0" },
		"params not json": func(m map[string]any) { m["params"] = "{" },
		"params not strs": func(m map[string]any) { m["params"] = `{"a":1}` },
		"params an array": func(m map[string]any) { m["params"] = `["a"]` },
		"bad created":     func(m map[string]any) { m["created"] = "yesterday" },
		"bad async":       func(m map[string]any) { m["async"] = "yes" },
		"id not a string": func(m map[string]any) { m["id"] = 5 },
		"id too long":     func(m map[string]any) { m["id"] = string(make([]byte, maxCommandIDLen+1)) },
	} {
		m := good()
		mutate(m)
		if _, err := decodeCommand(m); err == nil {
			t.Errorf("%s: decoded %v", name, m)
		}
	}
	cmd, err := decodeCommand(good())
	if err != nil || cmd.Params["a"] != "b" || cmd.Async || !cmd.Created.IsZero() {
		t.Errorf("good entry = %+v, %v", cmd, err)
	}
}
