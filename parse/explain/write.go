package explain

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes an explanation for a terminal or a file; look is how to open the test in
// the timeline ("raftviz --tui -run '^TestX$' run.log"), "" to leave that out.
func WriteText(w io.Writer, ex Explanation, look string) {
	fmt.Fprintf(w, "== %s (%s)\n", ex.Test, ex.Status)
	fmt.Fprintf(w, "symptom: %s\n", ex.Symptom)
	if len(ex.Findings) == 0 {
		fmt.Fprintln(w, "no anomaly found before the failure; the last events of each node are:")
		writeSteps(w, ex.Last, "  ")
	}
	for i, f := range ex.Findings {
		fmt.Fprintf(w, "%d. %s  [%s, %s]\n", i+1, f.Anomaly, f.Rule, f.Certainty)
		writeSteps(w, f.Chain, "     ")
	}
	if look != "" && len(ex.Findings) > 0 {
		fmt.Fprintf(w, "look: %s\n", lookAt(look, ex.Findings[0].At))
	}
	fmt.Fprintln(w)
}

// lookAt is look with the place to open at: --at TIME when the event has a time (an untimed
// one's "#LINE" is no place the timeline's --at takes).
func lookAt(look string, s Step) string {
	if strings.HasPrefix(s.Time, "#") || s.Time == "" {
		return look
	}
	return strings.Replace(look, "raftviz --tui", "raftviz --tui --at "+s.Time, 1)
}

// WriteMarkdown writes an explanation for a bug report.
func WriteMarkdown(w io.Writer, ex Explanation, look string) {
	fmt.Fprintf(w, "### %s (%s)\n\n**Symptom:** %s\n\n", ex.Test, ex.Status, mdText(ex.Symptom))
	if len(ex.Findings) == 0 {
		fmt.Fprintln(w, "No anomaly found before the failure. The last events of each node:")
		fmt.Fprintln(w, "\n```")
		writeSteps(w, ex.Last, "")
		fmt.Fprintln(w, "```")
	}
	for i, f := range ex.Findings {
		fmt.Fprintf(w, "%d. **%s** (rule `%s`, %s)\n\n   ```\n", i+1, mdText(f.Anomaly), f.Rule, f.Certainty)
		writeSteps(w, f.Chain, "   ")
		fmt.Fprintln(w, "   ```")
	}
	if look != "" && len(ex.Findings) > 0 {
		fmt.Fprintf(w, "\nLook: `%s`\n", lookAt(look, ex.Findings[0].At))
	}
	fmt.Fprintln(w)
}

// writeSteps writes events one per line: time, node, where, message.
func writeSteps(w io.Writer, steps []Step, indent string) {
	for _, s := range steps {
		fmt.Fprintf(w, "%s%s  %-4s line %-6d %s\n", indent, s.Time, s.Node, s.Line, oneLine(s.Msg))
	}
}

// oneLine keeps a message on one line of at most 120 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:119]) + "…"
	}
	return s
}

// mdText escapes what markdown would read as markup.
func mdText(s string) string {
	return strings.NewReplacer("*", `\*`, "_", `\_`, "`", "\\`").Replace(s)
}
