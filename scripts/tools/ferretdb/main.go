// Command ferretdb runs FerretDB v1.24 (a MongoDB wire-protocol server) through its embeddable
// package. `go install .../cmd/ferretdb@v1.24.2` cannot be used from the module proxy: the
// upstream command panics without the version.txt that its release build generates. This
// wrapper accepts the upstream flags the project uses, so a system `ferretdb` and this one are
// interchangeable.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	// Before anything else: the parent may be killed while we start.
	runtime.LockOSThread()
	dieWithParent()
	runtime.UnlockOSThread()

	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	handler := flag.String("handler", "sqlite", "backend: sqlite or postgresql")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite directory URI")
	postgresqlURL := flag.String("postgresql-url", "", "PostgreSQL connection string")
	logLevel := flag.String("log-level", "error", "debug, info, warn or error")
	flag.String("state-dir", "", "accepted for compatibility with the upstream command; unused")
	flag.String("telemetry", "disable", "accepted for compatibility with the upstream command; unused")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "invalid --log-level:", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:        logger,
		Handler:       *handler,
		SQLiteURL:     *sqliteURL,
		PostgreSQLURL: *postgresqlURL,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}
