package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func load(t *testing.T, args []string, env map[string]string) (Server, error) {
	t.Helper()
	var c Server
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c, Resolve(fs, &c, func(k string) string { return env[k] })
}

func TestResolve(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != filepath.Join("azimuth-data", "azimuth.db") || c.MasterKeyFile != filepath.Join("azimuth-data", "master.key") || c.Account != "default" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = load(t, []string{"--listen", "127.0.0.1:9"}, map[string]string{EnvListen: ":1", EnvDataDir: "/d", EnvAccount: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9" || c.DataDir != "/d" || c.Account != "acme" || c.DatabaseURL != "/d/azimuth.db" {
		t.Fatalf("flags over env: %+v", c)
	}
	f := filepath.Join(t.TempDir(), "url")
	if err := os.WriteFile(f, []byte("postgres://u:hunter2@db/azimuth\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = load(t, nil, map[string]string{EnvDatabaseURL + "_FILE": f})
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://u:hunter2@db/azimuth" {
		t.Fatalf("_FILE: %q", c.DatabaseURL)
	}
	for _, s := range []string{c.String(), c.RedactedDatabaseURL()} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("password printed: %s", s)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "8080"}, "listen address"},
		{[]string{"--database-url", "mysql://x"}, "database URL"},
		{[]string{"--log-level", "loud"}, "log level"},
		{[]string{"--log-format", "xml"}, "log format"},
		{[]string{"--account", " "}, "account is empty"},
	} {
		_, err := load(t, tc.args, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
