package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// isTerminal reports whether r or w is a terminal (not merely a character device: /dev/null is
// one too). It deliberately avoids the charm libraries: they may query the terminal and stall in
// pipes, which the table and list paths must never pay for.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && isatty.IsTerminal(file.Fd())
}

// useColor decides --color: always, never, or auto (a terminal, NO_COLOR unset, TERM not dumb).
func useColor(mode string, out io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if _, set := os.LookupEnv("NO_COLOR"); set || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(out)
}
