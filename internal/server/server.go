// Package server is the composition root: it builds the store, the keyring,
// the services and the API from a configuration, bootstraps the account on
// first start, and runs the HTTP server and the background jobs until the
// context ends. Later parts (task engine, delegate hub, re-tester, web UI)
// are wired here too: as routes on API (Server.API().Handle) and as jobs
// (Server.AddJob).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/api"
	"github.com/azimuthcd/azimuth/internal/azure"
	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/config"
	"github.com/azimuthcd/azimuth/internal/conntest"
	"github.com/azimuthcd/azimuth/internal/delegate"
	"github.com/azimuthcd/azimuth/internal/engine"
	"github.com/azimuthcd/azimuth/internal/ops"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
	"github.com/azimuthcd/azimuth/internal/web"
)

// AdminKeyFile is the file, in the data directory, that receives the first
// admin API key.
const AdminKeyFile = "admin-api-key"

// KeyringReloadInterval is how often a server picks up data keys another
// replica (or an offline rotation) installed.
const KeyringReloadInterval = 30 * time.Second

// Job is a background task that runs until its context ends.
type Job struct {
	Name string
	Run  func(ctx context.Context) error
}

// Server is a running Azimuth control plane.
type Server struct {
	cfg      config.Server
	log      *slog.Logger
	Store    *sqlstore.Store
	Keyring  *secret.Keyring
	Services *service.Services
	api      *api.API
	// Azure builds credentials and SDK clients (server side: no managed
	// identities); Engine runs tasks.
	Azure  *azure.Factory
	Engine *engine.Engine
	// Hub is the delegate hub: the engine's dispatcher and the delegate
	// protocol's server.
	Hub *delegate.Hub

	// AdminKey is the first admin key when this start created the account
	// (the zero Token otherwise); AdminKeyID is its id.
	AdminKey   access.Token
	AdminKeyID string
	// MasterKeyCreated reports that dev mode generated the master key.
	MasterKeyCreated bool

	// retester re-tests connectors and drops cached credentials on change
	// (retest.go).
	retester atomic.Pointer[conntest.Retester]

	mu       sync.Mutex
	jobs     []Job
	listener net.Listener
}

// Version is reported by /healthz.
var Version = "dev"

// New opens everything the configuration names and bootstraps the account.
// It refuses to start without a master key (except in dev mode, which
// creates one) and with a master key that does not match the database.
func New(ctx context.Context, cfg config.Server, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log.With("component", "server")}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	var master *secret.MasterKey
	var err error
	if cfg.Dev {
		master, s.MasterKeyCreated, err = secret.LoadOrCreateMasterKeyFile(cfg.MasterKeyFile)
	} else {
		master, err = secret.LoadMasterKeyFile(cfg.MasterKeyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("refusing to start: %w", err)
	}
	s.Store, err = sqlstore.Open(ctx, sqlstore.Options{URL: cfg.DatabaseURL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", cfg.RedactedDatabaseURL(), err)
	}
	s.Keyring, err = secret.OpenKeyring(ctx, master, s.Store)
	if err != nil {
		_ = s.Store.Close()
		return nil, fmt.Errorf("refusing to start: %w (the master key file is %s)", err, cfg.MasterKeyFile)
	}
	s.Services = service.New(service.Deps{Store: s.Store, Keyring: s.Keyring, Logger: log, OnChange: s.onChange})
	// The first admin key is written to its file before the account's
	// transaction commits: if the file cannot be written nothing is created
	// and the next start tries again, so the only admin key is never lost.
	keyFile := filepath.Join(cfg.DataDir, AdminKeyFile)
	written := ""
	tok, id, created, err := s.Services.Scopes.BootstrapSaving(ctx, cfg.Account, func(tok access.Token, id string) error {
		if err := writeSecretFile(keyFile, []byte(tok.Reveal()+"\n")); err != nil {
			return fmt.Errorf("write %s: %w", keyFile, err)
		}
		written = id
		return nil
	})
	if err != nil {
		if written != "" {
			// The commit failed after the file was written. Keep the file
			// only if the key made it into the database after all.
			if _, gerr := s.Store.GetAPIKey(context.WithoutCancel(ctx), written); gerr != nil {
				_ = os.Remove(keyFile)
			}
		}
		_ = s.Store.Close()
		return nil, err
	}
	if created {
		s.AdminKey, s.AdminKeyID = tok, id
		s.log.Info("created account with its default organization and an admin API key",
			"account", cfg.Account, "keyId", id, "keyFile", keyFile)
	}
	var override *cloud.Override
	if cfg.CloudConfig != "" {
		if override, err = cloud.Load(cfg.CloudConfig); err != nil {
			_ = s.Store.Close()
			return nil, fmt.Errorf("refusing to start: cloud config: %w", err)
		}
		s.log.Info("clouds overridden", "file", cfg.CloudConfig, "override", override.String())
	}
	s.Azure, err = azure.NewFactory(azure.Options{Override: override, Logger: log, UserAgent: "azimuth-server/" + Version})
	if err != nil {
		_ = s.Store.Close()
		return nil, fmt.Errorf("refusing to start: %w", err)
	}
	s.Engine = engine.New(engine.Deps{Secrets: s.Services.Secrets, Env: ops.NewEnv(log, s.Azure, ""), Logger: log})
	s.api = api.New(api.Deps{Services: s.Services, Health: s.Store, Logger: log, Version: Version, Tasks: s.Engine})
	s.AddJob(Job{Name: "keyring-reload", Run: s.reloadKeyring})
	s.AddJob(Job{Name: "auth-failure-audit", Run: func(ctx context.Context) error {
		return s.Services.APIKeys.RunAuthFailureFlush(ctx, service.AuthFailureInterval)
	}})
	s.Hub = delegate.NewHub(delegate.HubOptions{Store: s.Store, Signals: s.Store, Secrets: s.Services.Secrets, Sealer: s.Keyring, Logger: log, Version: Version,
		Lease: cfg.DelegateLease, Heartbeat: cfg.DelegateHeartbeat})
	s.Engine.SetDispatcher(s.Hub)
	s.Engine.SetRecorder(s.Hub)
	s.api.SetDelegates(s.Hub)
	s.AddJob(Job{Name: "task-leases", Run: func(ctx context.Context) error { return s.Hub.RunExpiry(ctx, time.Second) }})
	s.addRetester()
	return s, nil
}

// writeSecretFile writes b to path with mode 0600, replacing any file there
// atomically.
func writeSecretFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Config returns the configuration the server runs with.
func (s *Server) Config() config.Server { return s.cfg }

// API returns the API, so later parts can add routes before Run.
func (s *Server) API() *api.API { return s.api }

// AddJob adds a background job that Run starts and stops.
func (s *Server) AddJob(j Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = append(s.jobs, j)
}

// Listen binds the listen address (so callers can learn the URL before Run).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	s.mu.Lock()
	s.listener = ln
	s.mu.Unlock()
	return nil
}

// URL is the base URL clients use, once Listen has bound the address.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	addr := s.listener.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Run serves until ctx ends, then shuts down gracefully: it stops accepting,
// lets requests in flight finish (up to the shutdown timeout), stops the
// jobs and closes the database.
func (s *Server) Run(ctx context.Context) error {
	if s.listener == nil {
		if err := s.Listen(); err != nil {
			_ = s.Store.Close()
			return err
		}
	}
	track := newInflight()
	hs := &http.Server{
		Handler:           track.wrap(s.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		// No WriteTimeout: task routes (connection tests, script steps)
		// and delegate long-polls answer after minutes; every handler
		// bounds its own work with its context.
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	jobCtx, stopJobs := context.WithCancel(ctx)
	var wg sync.WaitGroup
	s.mu.Lock()
	jobs := append([]Job(nil), s.jobs...)
	s.mu.Unlock()
	for _, j := range jobs {
		wg.Add(1)
		go func(j Job) {
			defer wg.Done()
			if err := j.Run(jobCtx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("background job stopped", "job", j.Name, "err", err)
			}
		}(j)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(s.listener) }()
	s.log.Info("serving", "url", s.URL(), "config", s.cfg)

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		s.log.Info("shutting down", "grace", s.cfg.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		err = hs.Shutdown(sctx)
		cancel()
		if err != nil {
			s.log.Error("requests still in flight when the shutdown grace ran out", "grace", s.cfg.ShutdownTimeout, "requests", track.list())
			err = fmt.Errorf("shut down within %s: %w", s.cfg.ShutdownTimeout, err)
		}
		if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) && serr != nil && err == nil {
			err = serr
		}
	}
	stopJobs()
	wg.Wait()
	if cerr := s.Store.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Handler serves the API and, under /ui/, the web UI (which calls the API
// in-process with the browser's key).
func (s *Server) Handler() http.Handler {
	apiH := s.api.Handler()
	ui, err := web.New(web.Deps{API: apiH, Logger: s.log, Version: Version})
	if err != nil {
		// The templates are embedded and tested: this is a build bug.
		panic(err)
	}
	uiH := ui.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/ui/") || r.URL.Path == "/ui" {
			if r.URL.Path == "/ui" {
				http.Redirect(w, r, "/ui/", http.StatusFound)
				return
			}
			uiH.ServeHTTP(w, r)
			return
		}
		apiH.ServeHTTP(w, r)
	})
}

// reloadKeyring picks up data keys installed by another process.
func (s *Server) reloadKeyring(ctx context.Context) error {
	t := time.NewTicker(KeyringReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := s.Keyring.Reload(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("reload keyring", "err", err)
			}
		}
	}
}
