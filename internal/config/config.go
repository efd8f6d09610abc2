// Package config is the server's typed configuration: read once from flags
// and environment variables (flags win; *_FILE variants read secrets from
// files), validated once, and redacted whenever it is printed or logged.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

// Environment variables.
const (
	EnvListen        = "AZIMUTH_LISTEN"
	EnvDataDir       = "AZIMUTH_DATA_DIR"
	EnvDatabaseURL   = "AZIMUTH_DATABASE_URL"
	EnvMasterKeyFile = "AZIMUTH_MASTER_KEY_FILE"
	EnvAccount       = "AZIMUTH_ACCOUNT"
	EnvLogLevel      = "AZIMUTH_LOG_LEVEL"
	EnvLogFormat     = "AZIMUTH_LOG_FORMAT"
	EnvCloudConfig   = "AZIMUTH_CLOUD_CONFIG"
)

// Server is the configuration of `azimuth server` and `azimuth dev`.
type Server struct {
	Listen          string        // host:port
	DataDir         string        // holds the SQLite file, the admin key file and (dev) the master key
	DatabaseURL     string        // postgres://... or an SQLite path; default <data-dir>/azimuth.db
	MasterKeyFile   string        // default <data-dir>/master.key
	Account         string        // the account created on first start
	LogLevel        string        // debug, info, warn, error
	LogFormat       string        // text or json
	ShutdownTimeout time.Duration // grace period for in-flight requests
	// CloudConfig is a cloud override file (internal/cloud.Override): the
	// Azure simulator writes one. Empty: Azure itself. It is a server-level
	// setting, never a connector field, so no connector can send
	// credentials to a host of its choosing.
	CloudConfig string
	// Dev generates a master key when none exists. Only `azimuth dev` sets it.
	Dev bool
	// DelegateLease and DelegateHeartbeat tune the delegate hub (zero: its
	// defaults, 30 s and 10 s).
	DelegateLease     time.Duration
	DelegateHeartbeat time.Duration
	// RetestInterval is how often every connector is re-tested in the
	// background (Harness's heartbeat: 30 minutes); 0 disables background
	// re-tests, periodic and on secret change.
	RetestInterval time.Duration
}

// Defaults.
const (
	DefaultListen  = ":8080"
	DefaultDataDir = "azimuth-data"
	DefaultAccount = "default"
	// DefaultRetestInterval is Harness's connector heartbeat period.
	DefaultRetestInterval = 30 * time.Minute
)

// AddFlags registers the server flags on fs.
func AddFlags(fs *pflag.FlagSet, c *Server) {
	fs.StringVar(&c.Listen, "listen", DefaultListen, "address to serve the API on (env "+EnvListen+")")
	fs.StringVar(&c.DataDir, "data-dir", DefaultDataDir, "directory for the SQLite database and the admin key file (env "+EnvDataDir+")")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "postgres://... for PostgreSQL, or an SQLite file; default <data-dir>/azimuth.db (env "+EnvDatabaseURL+", or "+EnvDatabaseURL+"_FILE)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", "", "file holding the base64 master key; default <data-dir>/master.key (env "+EnvMasterKeyFile+")")
	fs.StringVar(&c.Account, "account", DefaultAccount, "account to create on first start (env "+EnvAccount+")")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error (env "+EnvLogLevel+")")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json (env "+EnvLogFormat+")")
	fs.StringVar(&c.CloudConfig, "cloud-config", "", "cloud override file (endpoints and CA bundle), e.g. written by `azimuth azuresim`; default: Azure itself (env "+EnvCloudConfig+")")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long to wait for requests in flight on SIGTERM")
	fs.DurationVar(&c.DelegateLease, "delegate-lease", 0, "how long a delegate's claim on a task holds without renewal (default 30s)")
	fs.DurationVar(&c.DelegateHeartbeat, "delegate-heartbeat", 0, "the interval delegates heartbeat at (default 10s)")
	fs.DurationVar(&c.RetestInterval, "retest-interval", DefaultRetestInterval, "how often to re-test every connector in the background (also on secret change); 0 disables")
}

// Resolve fills what the flags left unset from the environment (getenv),
// reads *_FILE variants, applies derived defaults and validates the result.
func Resolve(fs *pflag.FlagSet, c *Server, getenv func(string) string) error {
	fromEnv := func(flag, env string, dst *string) {
		if f := fs.Lookup(flag); f != nil && f.Changed {
			return
		}
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	fromEnv("listen", EnvListen, &c.Listen)
	fromEnv("data-dir", EnvDataDir, &c.DataDir)
	fromEnv("database-url", EnvDatabaseURL, &c.DatabaseURL)
	fromEnv("master-key-file", EnvMasterKeyFile, &c.MasterKeyFile)
	fromEnv("account", EnvAccount, &c.Account)
	fromEnv("log-level", EnvLogLevel, &c.LogLevel)
	fromEnv("log-format", EnvLogFormat, &c.LogFormat)
	fromEnv("cloud-config", EnvCloudConfig, &c.CloudConfig)
	if f := fs.Lookup("database-url"); (f == nil || !f.Changed) && getenv(EnvDatabaseURL) == "" {
		if p := getenv(EnvDatabaseURL + "_FILE"); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("%s_FILE: %w", EnvDatabaseURL, err)
			}
			c.DatabaseURL = strings.TrimSpace(string(b))
		}
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "azimuth.db")
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	return c.Validate()
}

// Validate checks the configuration once, with messages that say what to
// change.
func (c *Server) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: want host:port, e.g. :8080 or 127.0.0.1:8080", c.Listen))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data directory is empty: set --data-dir or "+EnvDataDir))
	}
	if _, _, err := sqlstore.ParseURL(c.DatabaseURL); err != nil {
		errs = append(errs, fmt.Errorf("database URL: %w", err))
	}
	if strings.TrimSpace(c.Account) == "" {
		errs = append(errs, errors.New("account is empty: set --account or "+EnvAccount))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log format %q: want text or json", c.LogFormat))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown timeout must be positive"))
	}
	if c.RetestInterval < 0 || (c.RetestInterval > 0 && c.RetestInterval < time.Minute) {
		errs = append(errs, fmt.Errorf("retest interval %s: want 0 (off) or at least 1m", c.RetestInterval))
	}
	return errors.Join(errs...)
}

// ParseLevel maps a level name to slog.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// RedactedDatabaseURL hides a password in the database URL.
func (c *Server) RedactedDatabaseURL() string {
	d, _, err := sqlstore.ParseURL(c.DatabaseURL)
	if err != nil || d != sqlstore.Postgres {
		return c.DatabaseURL
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "(unparseable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// String is the configuration with secrets redacted.
func (c Server) String() string {
	return fmt.Sprintf("listen=%s data-dir=%s database=%s master-key-file=%s account=%s log=%s/%s dev=%t",
		c.Listen, c.DataDir, c.RedactedDatabaseURL(), c.MasterKeyFile, c.Account, c.LogLevel, c.LogFormat, c.Dev)
}

// LogValue logs the configuration with secrets redacted.
func (c Server) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("listen", c.Listen), slog.String("dataDir", c.DataDir), slog.String("database", c.RedactedDatabaseURL()),
		slog.String("masterKeyFile", c.MasterKeyFile), slog.String("account", c.Account), slog.Bool("dev", c.Dev),
		slog.Duration("retestInterval", c.RetestInterval))
}
