//go:build tools

// Package tools pins a dependency that code under construction will import: porcupine, the
// linearizability checker that raftviz analyze and the randomized simulator will use for
// key-value histories. It is never built; it only keeps go.mod stable until then.
package tools

import (
	_ "github.com/anishathalye/porcupine"
)
