package main

import (
	"io"
	"os"
)

// isTerminal reports whether r or w is a character device (a terminal). It deliberately avoids
// the charm libraries: they may query the terminal and stall in pipes, which the table and list
// paths must never pay for.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
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
