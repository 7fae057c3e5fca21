package console

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"kioskd/cloudlink/contract"
)

// Serve runs one station with its web console on ln until ctx is done. A
// cancelled ctx is not an error.
func Serve(ctx context.Context, cfg Config, ln net.Listener) error {
	c, err := Open(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer c.Close()
	g, ctx := errgroup.WithContext(ctx)
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }} // ends live streams on shutdown
	g.Go(func() error { return c.Run(ctx) })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("web console: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			return srv.Close()
		}
		return nil
	})
	return g.Wait()
}

// LoadOrCreateKey reads the Ed25519 private key at path, or, when there is no
// file, makes a key pair and writes the private key to path (0600) and the
// public key to path+".pub", which the kiosks list in
// commands.public_key_files.
func LoadOrCreateKey(path string, log *slog.Logger) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		pub, priv, err := contract.GenerateKeyPEM()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path+".pub", pub, 0o644); err != nil {
			return nil, fmt.Errorf("write public key: %w", err)
		}
		if err := os.WriteFile(path, priv, 0o600); err != nil {
			return nil, fmt.Errorf("write private key: %w", err)
		}
		log.Info("station: new command signing key; give the public key to the kiosks", "private", path, "public", path+".pub")
		b = priv
	} else if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	key, err := contract.ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}
