package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// maxScriptSize bounds a scenario script read whole: scripts are a few commands, and a file of
// megabytes given by mistake (a log) should be refused, not run line by line.
const maxScriptSize = 1 << 20

// readScript reads a scenario script (sim --script, live --script; "-" for stdin) and refuses,
// with a one-line reason, what cannot be one: a directory, a binary file (its bytes used to be
// echoed to the terminal), a file of no commands (it ran nothing and exited 0).
func readScript(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not a script", path)
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxScriptSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	case len(b) > maxScriptSize:
		return nil, fmt.Errorf("%s: over %d KiB: not a script of commands (docs/SCENARIOS.md)", path, maxScriptSize>>10)
	case bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b):
		return nil, fmt.Errorf("%s is not a text file: not a script of commands (docs/SCENARIOS.md)", path)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if l := bytes.TrimSpace(line); len(l) > 0 && l[0] != '#' {
			return b, nil
		}
	}
	return nil, errors.New(path + " has no commands (docs/SCENARIOS.md lists them)")
}
