package infra

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The parts of the Compose specification the file uses. Unknown keys fail
// the decoding, so a misspelt key does not pass unnoticed.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	XOpenqq  any                       `yaml:"x-openqq"`
	XEnv     any                       `yaml:"x-openqq-env"`
}

type composeService struct {
	Image           string                      `yaml:"image"`
	Build           *composeBuild               `yaml:"build"`
	Command         []string                    `yaml:"command"`
	Environment     map[string]string           `yaml:"environment"`
	Volumes         []string                    `yaml:"volumes"`
	Ports           []string                    `yaml:"ports"`
	Restart         string                      `yaml:"restart"`
	StopSignal      string                      `yaml:"stop_signal"`
	StopGracePeriod string                      `yaml:"stop_grace_period"`
	ReadOnly        bool                        `yaml:"read_only"`
	Tmpfs           []string                    `yaml:"tmpfs"`
	CapDrop         []string                    `yaml:"cap_drop"`
	SecurityOpt     []string                    `yaml:"security_opt"`
	DependsOn       map[string]composeDependsOn `yaml:"depends_on"`
	Healthcheck     *composeHealthcheck         `yaml:"healthcheck"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

type composeDependsOn struct {
	Condition string `yaml:"condition"`
	Restart   bool   `yaml:"restart"`
}

type composeHealthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

func loadCompose(tb testing.TB) composeFile {
	tb.Helper()
	f, err := os.Open(filepath.Join(root, "infra", "docker-compose.yml"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var c composeFile
	if err := dec.Decode(&c); err != nil {
		tb.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// interpolation matches ${NAME}, ${NAME:-default}, ${NAME:?message} and
// ${NAME-default}; $$ escapes a dollar for the container's shell.
var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// defaultOf returns the default of a ${NAME:-default} value, or the value.
func defaultOf(v string) string {
	return interpolation.ReplaceAllStringFunc(v, func(m string) string {
		sub := interpolation.FindStringSubmatch(m)
		if strings.HasSuffix(sub[2], "-") {
			return sub[3]
		}
		return ""
	})
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	var names []string
	for n := range c.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"connector", "dispatcher", "redis", "relay"}; !slices.Equal(names, want) {
		t.Fatalf("services %q, want %q", names, want)
	}
	commands := map[string]string{"connector": "connector", "relay": "relay", "dispatcher": "dispatch"}
	image := c.Services["relay"].Image
	for name, sub := range commands {
		s := c.Services[name]
		t.Run(name, func(t *testing.T) {
			if s.Image != image || s.Build == nil || s.Build.Dockerfile != "Dockerfile" {
				t.Errorf("image %q build %+v: every openqq service runs the one image built from the Dockerfile", s.Image, s.Build)
			}
			if s.Build != nil {
				if _, err := os.Stat(filepath.Join(root, "infra", s.Build.Context, s.Build.Dockerfile)); err != nil {
					t.Errorf("build context: %v", err)
				}
			}
			if len(s.Command) != 1 || s.Command[0] != sub || !subcommands[sub] {
				t.Errorf("command %q, want [%q]", s.Command, sub)
			}
			if d, ok := s.DependsOn["redis"]; !ok || d.Condition != "service_healthy" {
				t.Errorf("must wait for a healthy redis, depends_on = %+v", s.DependsOn)
			}
			if s.Restart != "unless-stopped" && s.Restart != "always" {
				t.Errorf("restart %q", s.Restart)
			}
			if s.StopSignal != "SIGTERM" {
				t.Errorf("stop_signal %q, want SIGTERM", s.StopSignal)
			}
			if d, err := time.ParseDuration(s.StopGracePeriod); err != nil || d < 10*time.Second {
				t.Errorf("stop_grace_period %q: the graceful stop needs time", s.StopGracePeriod)
			}
			if !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
				t.Errorf("hardening: read_only %v cap_drop %q security_opt %q", s.ReadOnly, s.CapDrop, s.SecurityOpt)
			}
			hc := s.Healthcheck
			if hc == nil || len(hc.Test) < 3 || hc.Test[0] != "CMD" || hc.Test[1] != "/openqq" || hc.Test[2] != "healthcheck" {
				t.Errorf("healthcheck %+v: must run /openqq healthcheck (the image has no shell)", hc)
			}
			url := s.Environment["OPENQQ_REDIS_URL"]
			if !strings.HasPrefix(url, "redis://:${REDIS_PASSWORD:?") || !strings.HasSuffix(url, "@redis:6379/0") {
				t.Errorf("OPENQQ_REDIS_URL %q must point at the redis service with the required password", url)
			}
			for k := range s.Environment {
				if !knownVariables[k] {
					t.Errorf("unknown variable %s", k)
				}
			}
			if _, ok := s.Environment["OPENQQ_POST_API"]; !ok {
				t.Error("every service gets the same OPENQQ_POST_API: each syncs the subscribers at start")
			}
		})
	}

	relay := c.Services["relay"]
	if v := relay.Environment["OPENQQ_API_TOKENS"]; !strings.HasPrefix(v, "${OPENQQ_API_TOKENS:?") {
		t.Errorf("relay OPENQQ_API_TOKENS = %q: it listens beyond loopback, so tokens must be required", v)
	}
	listen := relay.Environment["OPENQQ_LISTEN"]
	_, port, _ := strings.Cut(listen, ":")
	if len(relay.Ports) != 1 || !strings.HasSuffix(relay.Ports[0], ":"+port) {
		t.Errorf("relay ports %q do not publish OPENQQ_LISTEN %s", relay.Ports, listen)
	} else if host := defaultOf(relay.Ports[0]); !strings.HasPrefix(host, "127.0.0.1:") {
		t.Errorf("relay is published on %s by default, want loopback", host)
	}
	if hc := relay.Healthcheck; hc == nil || len(hc.Test) != 4 || hc.Test[3] != "http://127.0.0.1:"+port+"/healthz" {
		t.Errorf("relay healthcheck %+v must probe its own listener", relay.Healthcheck)
	}
	for _, name := range []string{"connector", "dispatcher"} {
		if v := c.Services[name].Environment["OPENQQ_ADMIN_LISTEN"]; v == "" {
			t.Errorf("%s: OPENQQ_ADMIN_LISTEN unset; its healthcheck probes the admin listener", name)
		}
	}
}

func TestComposeRedis(t *testing.T) {
	c := loadCompose(t)
	r := c.Services["redis"]
	if !regexp.MustCompile(`^redis:\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$`).MatchString(r.Image) {
		t.Errorf("redis image %q: pin the official image by version", r.Image)
	}
	if len(r.Ports) != 0 {
		t.Errorf("redis publishes %q; only the compose network may reach it", r.Ports)
	}
	if r.Restart == "" || r.Healthcheck == nil || len(r.Healthcheck.Test) == 0 {
		t.Errorf("redis needs a restart policy and a healthcheck")
	}
	if !strings.Contains(strings.Join(r.Healthcheck.Test, " "), "REDISCLI_AUTH") {
		t.Errorf("redis healthcheck must authenticate: %q", r.Healthcheck.Test)
	}
	cmd := strings.Join(r.Command, " ")
	if !strings.Contains(cmd, `--requirepass "$$REDIS_PASSWORD"`) {
		t.Errorf("redis command %q must set the password from REDIS_PASSWORD", cmd)
	}
	if _, ok := r.Environment["REDIS_PASSWORD"]; !ok {
		t.Error("redis container lacks REDIS_PASSWORD")
	}
	var mountedConf string
	var dataVolume bool
	for _, v := range r.Volumes {
		parts := strings.Split(v, ":")
		src, dst := parts[0], parts[1]
		switch {
		case strings.HasPrefix(src, "./"):
			if _, err := os.Stat(filepath.Join(root, "infra", src)); err != nil {
				t.Errorf("bind mount %s: %v", v, err)
			}
			if !slices.Contains(parts[2:], "ro") {
				t.Errorf("bind mount %s should be read-only", v)
			}
			if strings.HasSuffix(src, "redis.conf") {
				mountedConf = dst
			}
		default:
			if _, ok := c.Volumes[src]; !ok {
				t.Errorf("volume %s is not declared", src)
			}
			dataVolume = dst == "/data"
		}
	}
	if !dataVolume {
		t.Error("redis /data (the append-only file) is not on a named volume")
	}
	if mountedConf == "" || !strings.Contains(cmd, "redis-server "+mountedConf) {
		t.Errorf("redis-server must start with the mounted redis.conf (%s): %q", mountedConf, cmd)
	}
}

// TestComposeInterpolation checks that every ${VAR} the file reads is a
// known variable documented in openqq.env.example.
func TestComposeInterpolation(t *testing.T) {
	documented := map[string]bool{}
	for _, k := range envFileKeys(t, "infra/openqq.env.example") {
		documented[k] = true
	}
	src := string(readFile(t, "infra/docker-compose.yml"))
	matches := interpolation.FindAllStringSubmatch(src, -1)
	if len(matches) == 0 {
		t.Fatal("no interpolation found")
	}
	for _, m := range matches {
		if !knownVariables[m[1]] || !documented[m[1]] {
			t.Errorf("${%s}: unknown or missing from openqq.env.example", m[1])
		}
	}
	// A bare $NAME would be interpolated by compose too; the file uses
	// ${NAME} for compose and $$NAME for the container's shell only.
	if bare := regexp.MustCompile(`[^$]\$[A-Za-z_]`).FindString(src); bare != "" {
		t.Errorf("bare interpolation %q", bare)
	}
}
