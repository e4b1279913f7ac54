package timeline

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// The legend: what the timeline's signs and colours mean, in the full help (?) and, where the
// title line has room, as a one-line key at its right.

// legendItems are the signs, each with what it means.
var legendItems = []string{
	"▶ cursor", "‼ flagged by analysis (v)", "‹ an event of the finding w shows", "a-z mark (m)", "✗ node down", "~ disconnected",
	"| partitioned", "┊ time passing (s)", "◂ ▸ more columns (h/l)", "── term n ── a new term",
	"… folded heartbeats (z)", "1 ──Type──▶ 2 message (a)", "←1 received from 1", "✗ lost message",
}

// legendColours says what the colours mean (shown only with colours).
const legendColours = "colours: yellow election · green leader · blue replication · cyan commit · red fault"

// titleKey is the one-line key shown at the right of the title line when it fits.
const titleKey = "✗ down  ~ disconnected  | partition  ‼ flagged  ? legend"

// legendLines lays the legend out in lines no wider than width.
func (m *Model) legendLines(width int) []string {
	var lines []string
	var line strings.Builder
	for _, it := range legendItems {
		if line.Len() > 0 && ansi.StringWidth(line.String())+3+ansi.StringWidth(it) > width {
			lines = append(lines, line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteString(" · ")
		}
		line.WriteString(it)
	}
	lines = append(lines, line.String())
	if !m.st.noColor {
		lines = append(lines, ansi.Truncate(legendColours, width, "…"))
	}
	return lines
}
