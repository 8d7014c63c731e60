//go:build tools

// Package tools pins the Go-built test and development servers (FerretDB, stripe-mock)
// so scripts/ensure-setup.mjs can build them reproducibly from the Go module proxy.
package tools

import (
	_ "github.com/FerretDB/FerretDB/ferretdb"
	_ "github.com/stripe/stripe-mock"
)
