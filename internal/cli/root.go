// Package cli is the openproton command line: the server, key management and (as they are
// built) the commands that mirror `aws proton`.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openproton/openproton/internal/app"
	"github.com/openproton/openproton/internal/config"
)

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "openproton",
		Short:         "Self-hosted AWS Proton: the Proton API, deployments and a CLI",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serverCommand(), keysCommand(), deploymentLogCommand(), renderCommand())
	root.AddCommand(apiCommands()...)
	if err := root.Execute(); err != nil {
		var exit *exitError
		if errors.As(err, &exit) {
			fmt.Fprintln(stderr, exit.msg)
			return exit.code
		}
		fmt.Fprintln(stderr, "openproton:", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func serverCommand() *cobra.Command {
	var cfg config.Server
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the openproton server (Proton API and S3-compatible bucket API)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(cmd.ErrOrStderr(), cfg.LogLevel)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := app.Start(ctx, cfg, logger)
			if err != nil {
				return err
			}
			if srv.CredentialsWritten != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "openproton: created an admin access key; its credentials are in %s\n", srv.CredentialsWritten)
			}
			logger.Info("openproton serving", "url", srv.URL(), "data_dir", cfg.DataDir, "database", storeKind(cfg), "region", cfg.Region, "account", cfg.AccountID)
			<-ctx.Done()
			logger.Info("shutting down")
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("shutdown: %w", err)
			}
			return nil
		},
	}
	cfg.Bind(cmd.Flags())
	return cmd
}

func storeKind(cfg config.Server) string {
	if cfg.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite"
}
