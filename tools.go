//go:build tools

// Package tools pins dependencies that packages under construction will import.
// It is never built; it only keeps go.mod stable while those packages are written.
package tools

import (
	_ "github.com/anishathalye/porcupine"
	_ "github.com/charmbracelet/bubbles/viewport"
	_ "github.com/charmbracelet/bubbletea"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/charmbracelet/x/exp/teatest"
	_ "github.com/jedib0t/go-pretty/v6/table"
	_ "go.uber.org/goleak"
)
