package main

import (
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openqq-relay/openqq"
	"github.com/openqq-relay/openqq/store"
)

func TestConnectorConfigDefaults(t *testing.T) {
	cfg, err := loadConnectorConfig(map[string]string{"OPENQQ_REDIS_URL": "redis://127.0.0.1:6379/0"})
	if err != nil {
		t.Fatal(err)
	}
	want := connectorConfig{
		RedisURL: "redis://127.0.0.1:6379/0", Account: "default", Backend: "webqq",
		SendInterval: 3 * time.Second, AdminListen: "127.0.0.1:9090",
		RefreshInterval: 600 * time.Second, CheckEventMax: 20, PostEvent: true,
		LeaseTTL: 15 * time.Second, Dispatch: true, Logging: Logging{Level: "info"},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("defaults = %+v\nwant %+v", *cfg, want)
	}
	if got := cfg.postEventList(); !reflect.DeepEqual(got, openqq.DefaultPostEventList) {
		t.Errorf("post event list = %v", got)
	}
}

func TestConnectorConfigValues(t *testing.T) {
	cfg, err := loadConnectorConfig(map[string]string{
		"OPENQQ_REDIS_URL": "redis://r:6379/1", "OPENQQ_ACCOUNT": "12345", "OPENQQ_BACKEND": "sandbox",
		"OPENQQ_SEND_INTERVAL": "0", "OPENQQ_ADMIN_LISTEN": "off", "OPENQQ_POST_EVENT": "false",
		"OPENQQ_POST_EVENT_LIST": "new_friend, lose_friend ,", "OPENQQ_CHECK_EVENT_MAX": "5",
		"OPENQQ_REFRESH_INTERVAL": "1m", "OPENQQ_LEASE_TTL": "3s", "OPENQQ_QQ_PASSWORD": "pw",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SendInterval != 0 || cfg.AdminListen != "off" || cfg.PostEvent || cfg.CheckEventMax != 5 ||
		cfg.RefreshInterval != time.Minute || cfg.LeaseTTL != 3*time.Second || cfg.QQPassword != "pw" ||
		!reflect.DeepEqual(cfg.postEventList(), []string{"new_friend", "lose_friend"}) {
		t.Errorf("config = %+v", *cfg)
	}
}

// Every bad value is reported with the variable that holds it.
func TestConnectorConfigErrors(t *testing.T) {
	cases := []struct {
		env map[string]string
		bad string
	}{
		{map[string]string{}, "OPENQQ_REDIS_URL"},
		{map[string]string{"OPENQQ_ACCOUNT": "a{b}"}, "OPENQQ_ACCOUNT"},
		{map[string]string{"OPENQQ_BACKEND": "onebot"}, "OPENQQ_BACKEND"},
		{map[string]string{"OPENQQ_WEBQQ_ENDPOINT": "ftp://x"}, "OPENQQ_WEBQQ_ENDPOINT"},
		{map[string]string{"OPENQQ_BACKEND": "sandbox", "OPENQQ_WEBQQ_ENDPOINT": "http://x"}, "OPENQQ_WEBQQ_ENDPOINT"},
		{map[string]string{"OPENQQ_SEND_INTERVAL": "-1s"}, "OPENQQ_SEND_INTERVAL"},
		{map[string]string{"OPENQQ_SEND_INTERVAL": "soon"}, "OPENQQ_SEND_INTERVAL"},
		{map[string]string{"OPENQQ_ADMIN_LISTEN": "9090"}, "OPENQQ_ADMIN_LISTEN"},
		{map[string]string{"OPENQQ_REFRESH_INTERVAL": "1s"}, "OPENQQ_REFRESH_INTERVAL"},
		{map[string]string{"OPENQQ_CHECK_EVENT_MAX": "0"}, "OPENQQ_CHECK_EVENT_MAX"},
		{map[string]string{"OPENQQ_CHECK_EVENT_MAX": "many"}, "OPENQQ_CHECK_EVENT_MAX"},
		{map[string]string{"OPENQQ_POST_EVENT": "maybe"}, "OPENQQ_POST_EVENT"},
		{map[string]string{"OPENQQ_LEASE_TTL": "10ms"}, "OPENQQ_LEASE_TTL"},
		{map[string]string{"OPENQQ_LOG_LEVEL": "loud"}, "OPENQQ_LOG_LEVEL"},
	}
	for _, c := range cases {
		env := map[string]string{"OPENQQ_REDIS_URL": "redis://127.0.0.1:6379/0"}
		if c.bad == "OPENQQ_REDIS_URL" {
			env = map[string]string{}
		}
		for k, v := range c.env {
			env[k] = v
		}
		_, err := loadConnectorConfig(env)
		ce, ok := errors.AsType[*ConfigError](err)
		if !ok || ce.Var != c.bad {
			t.Errorf("%v: error %v, want one naming %s", c.env, err, c.bad)
		}
	}
}

// A connector started before its Redis waits for it; a bad URL fails at once.
func TestOpenStoreRetrying(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := openStoreRetrying(t.Context(), "ftp://127.0.0.1:1", quiet); err == nil {
		t.Fatal("a malformed URL opened")
	}
	logged := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logged, nil))
	addr := freeAddr(t)
	opened := make(chan error, 1)
	go func() {
		db, err := openStoreRetrying(t.Context(), "redis://"+addr+"/0", log)
		if err == nil {
			db.Close()
		}
		opened <- err
	}()
	eventually(t, "a failed attempt", func() bool {
		return strings.Contains(logged.String(), "redis unreachable, retrying")
	})
	e, err := store.NewEmbedded(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := <-opened; err != nil {
		t.Errorf("open after Redis came up: %v", err)
	}
}
