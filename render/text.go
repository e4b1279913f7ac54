package render

import (
	"io"
	"unicode/utf8"

	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/eventline"
)

// borders are the drawing characters of a text table; the two sets are go-pretty's StyleLight and
// StyleDefault.
type borders struct {
	topL, topM, topR, midL, midM, midR, botL, botM, botR, horiz, vert string
}

var (
	boxBorders   = borders{"┌", "┬", "┐", "├", "┼", "┤", "└", "┴", "┘", "─", "│"}
	asciiBorders = borders{"+", "+", "+", "+", "+", "+", "+", "+", "+", "-", "|"}
)

// textTable streams one table. Column widths are computed from all rows first (a table cannot be
// drawn before its widths are known), then rows are written one by one into a reused buffer.
type textTable struct {
	opts    *Options
	b       borders
	headers []string
	widths  []int
	col     map[string]int // node id -> column index (0 is TIME)
	fault   bool           // column 1 is FAULT
	start   int64
	buf     []byte
	time    []byte     // the current row's time cell
	cells   [][]string // per column (0, the time, unused), the current row's lines
	ascii   []bool     // per column, whether the current row's lines are known ASCII
	sep     []byte     // the rule between rows
	// blank is a line of the table with every cell empty, and off where each cell's text
	// begins in it (off[0]: the time's): a row line of ASCII cells without colour is blank
	// with the texts copied in, which is what the cells padded one by one come to.
	blank []byte
	off   []int
}

func newTextTable(opts *Options, nodes []string, events []parse.Event, start int64) *textTable {
	tt := &textTable{opts: opts, b: boxBorders, start: start, col: make(map[string]int, len(nodes))}
	if opts.Format == FormatASCII {
		tt.b = asciiBorders
	}
	for _, n := range nodes {
		tt.col[n] = 0 // which nodes have columns, for inFaultColumn; numbered below
	}
	for i := range events { // by index: an Event is too big to copy per row
		if tt.inFaultColumn(&events[i]) {
			tt.fault = true
			break
		}
	}
	tt.headers = append(tt.headers, "TIME")
	if tt.fault {
		tt.headers = append(tt.headers, "FAULT")
	}
	for _, n := range nodes {
		tt.col[n] = len(tt.headers)
		tt.headers = append(tt.headers, n)
	}
	tt.widths = make([]int, len(tt.headers))
	for i, h := range tt.headers {
		tt.widths[i] = text.StringWidthWithoutEscSequences(h)
	}
	var tb []byte
	for i := range events {
		e := &events[i]
		tb = parse.AppendEventTime(tb[:0], e, start, opts.Relative)
		tt.widths[0] = max(tt.widths[0], len(tb))
		if a, from, to, ok := tt.arrow(e); ok {
			// The sender's cell holds the label; the receiver's the head.
			w := arrowWidth(a)
			if opts.Wrap > 0 {
				w = min(w, opts.Wrap)
			}
			tt.widths[from] = max(tt.widths[from], w)
			tt.widths[to] = max(tt.widths[to], arrowHeadWidth)
			continue
		}
		if c, ok := tt.col[e.Node]; ok {
			if tt.plainASCII(e) {
				w := len(e.Msg)
				if opts.Wrap > 0 {
					w = min(w, opts.Wrap)
				}
				tt.widths[c] = max(tt.widths[c], w)
			} else {
				tt.widths[c] = max(tt.widths[c], wrappedWidth(opts.cellText(e), opts.Wrap))
			}
		}
		if tt.fault && tt.inFaultColumn(e) {
			tt.widths[1] = max(tt.widths[1], wrappedWidth(faultText(e), opts.Wrap))
		}
	}
	tt.cells = make([][]string, len(tt.headers))
	tt.ascii = make([]bool, len(tt.headers))
	tt.sep = tt.rule(nil, tt.b.midL, tt.b.midM, tt.b.midR)
	tt.off = make([]int, len(tt.headers))
	for c, w := range tt.widths {
		tt.blank = append(tt.blank, tt.b.vert...)
		tt.off[c] = len(tt.blank) + 1
		tt.blank = appendSpaces(tt.blank, w+2)
	}
	tt.blank = append(append(tt.blank, tt.b.vert...), '\n')
	return tt
}

// blankRow appends line ln of the current row as blank with its texts copied in, and reports
// false (appending nothing) when a cell of it is not known ASCII or colour is on: then the cells
// are padded one by one.
func (tt *textTable) blankRow(ln int, on string) bool {
	if on != "" {
		return false
	}
	for c := 1; c < len(tt.cells); c++ {
		if lines := tt.cells[c]; ln < len(lines) && lines[ln] != "" && (!tt.ascii[c] || len(lines[ln]) > tt.widths[c]) {
			return false
		}
	}
	start := len(tt.buf)
	tt.buf = append(tt.buf, tt.blank...)
	line := tt.buf[start:]
	if ln == 0 {
		copy(line[tt.off[0]:], tt.time)
	}
	for c := 1; c < len(tt.cells); c++ {
		if lines := tt.cells[c]; ln < len(lines) {
			copy(line[tt.off[c]:], lines[ln])
		}
	}
	return true
}

// rule appends a horizontal border line.
func (tt *textTable) rule(dst []byte, l, m, r string) []byte {
	dst = append(dst, l...)
	for i, w := range tt.widths {
		if i > 0 {
			dst = append(dst, m...)
		}
		for j := 0; j < w+2; j++ {
			dst = append(dst, tt.b.horiz...)
		}
	}
	dst = append(dst, r...)
	return append(dst, '\n')
}

// write draws the whole table for events.
func (tt *textTable) write(w io.Writer, events []parse.Event) error {
	tt.buf = tt.rule(tt.buf[:0], tt.b.topL, tt.b.topM, tt.b.topR)
	tt.time = append(tt.time[:0], tt.headers[0]...)
	for i, h := range tt.headers {
		tt.cells[i] = append(tt.cells[i][:0], h)
		tt.ascii[i] = false
	}
	tt.row(nil)
	for i := range events {
		if i == 0 || !tt.opts.Compact {
			tt.buf = append(tt.buf, tt.sep...)
		}
		if len(tt.buf) > flushBytes {
			if _, err := w.Write(tt.buf); err != nil {
				return err
			}
			tt.buf = tt.buf[:0]
		}
		e := &events[i]
		for c := range tt.cells {
			tt.cells[c] = tt.cells[c][:0]
		}
		tt.time = parse.AppendEventTime(tt.time[:0], e, tt.start, tt.opts.Relative)
		if a, from, to, ok := tt.arrow(e); ok {
			tt.arrowCells(a, from, to)
		} else if c, ok := tt.col[e.Node]; ok {
			tt.ascii[c] = tt.plainASCII(e)
			tt.cells[c] = tt.lines(tt.cells[c], tt.opts.cellText(e), tt.ascii[c])
		}
		if tt.fault && tt.inFaultColumn(e) {
			tt.ascii[1] = false
			tt.cells[1] = tt.lines(tt.cells[1], faultText(e), false)
		}
		tt.row(e)
	}
	tt.buf = tt.rule(tt.buf, tt.b.botL, tt.b.botM, tt.b.botR)
	_, err := w.Write(tt.buf)
	tt.buf = tt.buf[:0]
	return err
}

// plainASCII reports whether an event's cell is its message and known to be ASCII, so its
// width is its length.
func (tt *textTable) plainASCII(e *parse.Event) bool {
	return e.Flags&parse.FlagASCII != 0 && !tt.opts.Fields && !(tt.opts.Arrows && e.Kind == eventline.KindRecv)
}

// arrow returns the arrow an event draws in the arrow view and the columns of its sender and
// receiver; ok is false without the arrow view, or when either column is not in the table.
func (tt *textTable) arrow(e *parse.Event) (a Arrow, from, to int, ok bool) {
	if !tt.opts.Arrows {
		return a, 0, 0, false
	}
	if a, ok = ArrowOf(e); !ok {
		return a, 0, 0, false
	}
	from, okFrom := tt.col[a.From]
	to, okTo := tt.col[a.To]
	return a, from, to, okFrom && okTo
}

// inFaultColumn reports whether an event is written in the FAULT column: faults, and cluster
// events other than the lost messages the arrow view draws between the nodes.
func (tt *textTable) inFaultColumn(e *parse.Event) bool {
	if e.IsFault() {
		return true
	}
	if e.Node != eventline.ClusterNode {
		return false
	}
	if !tt.opts.Arrows {
		return true
	}
	from, to, _, ok := MessageEnds(e)
	_, okFrom := tt.col[from]
	_, okTo := tt.col[to]
	return !(ok && okFrom && okTo)
}

// arrowCells fills the cells an arrow crosses, each as wide as its column.
func (tt *textTable) arrowCells(a Arrow, from, to int) {
	lo, hi := min(from, to), max(from, to)
	for i, s := range ArrowCells(a, tt.widths[lo:hi+1], from < to) {
		c := lo + i
		tt.ascii[c] = false
		tt.cells[c] = append(tt.cells[c], s)
		if !tt.opts.Compact {
			tt.cells[c] = append(tt.cells[c], "")
		}
	}
}

// lines wraps a cell's text and, in the classic layout, adds the blank line that separates
// cells vertically. ascii says the text is known to be printable ASCII.
func (tt *textTable) lines(dst []string, s string, ascii bool) []string {
	if ascii {
		dst = hardWrapASCII(dst, s, tt.opts.Wrap)
	} else {
		dst = hardWrap(dst, s, tt.opts.Wrap)
	}
	if !tt.opts.Compact {
		dst = append(dst, "")
	}
	return dst
}

// row appends the current cells as one table row (several physical lines). Column 0, the time,
// comes from tt.time.
func (tt *textTable) row(e *parse.Event) {
	h := 1
	for _, c := range tt.cells[1:] {
		h = max(h, len(c))
	}
	var on string
	if tt.opts.Color && e != nil {
		on = colorOf(e)
	}
	for ln := 0; ln < h; ln++ {
		if len(tt.time) <= tt.widths[0] && tt.blankRow(ln, on) {
			continue
		}
		tt.buf = append(tt.buf, tt.b.vert...)
		tt.buf = append(tt.buf, ' ')
		if ln == 0 {
			tt.buf = append(tt.buf, tt.time...)
			tt.buf = appendSpaces(tt.buf, tt.widths[0]-len(tt.time)+1)
		} else {
			tt.buf = appendSpaces(tt.buf, tt.widths[0]+1)
		}
		for c := 1; c < len(tt.cells); c++ {
			lines := tt.cells[c]
			tt.buf = append(tt.buf, tt.b.vert...)
			if ln >= len(lines) || lines[ln] == "" {
				tt.buf = appendSpaces(tt.buf, tt.widths[c]+2)
				continue
			}
			s := lines[ln]
			tt.buf = append(tt.buf, ' ')
			if on != "" {
				tt.buf = append(tt.buf, on...)
				tt.buf = append(tt.buf, s...)
				tt.buf = append(tt.buf, colorOff...)
			} else {
				tt.buf = append(tt.buf, s...)
			}
			w := len(s)
			if !tt.ascii[c] {
				w = displayWidth(s)
			}
			tt.buf = appendSpaces(tt.buf, tt.widths[c]-w+1)
		}
		tt.buf = append(tt.buf, tt.b.vert...)
		tt.buf = append(tt.buf, '\n')
	}
}

// flushBytes is how much of a table is assembled before it is written: larger than the caller's
// bufio.Writer (64 KiB in raftviz), so bufio passes it through without copying.
const flushBytes = 256 << 10

const spaces = "                                                                "

func appendSpaces(dst []byte, n int) []byte {
	for n > len(spaces) {
		dst = append(dst, spaces...)
		n -= len(spaces)
	}
	if n > 0 {
		dst = append(dst, spaces[:n]...)
	}
	return dst
}

// displayWidth is the terminal width of s, with an ASCII fast path.
func displayWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return text.StringWidthWithoutEscSequences(s)
		}
	}
	return len(s)
}

// wrappedWidth is the widest line hardWrap would produce.
func wrappedWidth(s string, wrap int) int {
	w := displayWidth(s)
	if wrap <= 0 || w <= wrap {
		return w
	}
	if w == len(s) {
		return wrap // ASCII: every full line is exactly wrap wide
	}
	widest := 0
	for _, l := range hardWrap(nil, s, wrap) {
		widest = max(widest, displayWidth(l))
	}
	return widest
}

// hardWrapASCII is hardWrap for text known to be printable ASCII: cuts every width bytes.
func hardWrapASCII(dst []string, s string, width int) []string {
	if width <= 0 {
		return append(dst, s)
	}
	for len(s) > width {
		dst = append(dst, s[:width])
		s = s[width:]
	}
	return append(dst, s)
}

// hardWrap cuts s into lines of at most width display columns, breaking anywhere (the classic
// table's behaviour: messages are packed, not word-wrapped). width <= 0 means no wrapping.
func hardWrap(dst []string, s string, width int) []string {
	if width <= 0 || len(s) <= width && displayWidth(s) <= width {
		return append(dst, s)
	}
	if displayWidth(s) == len(s) {
		return hardWrapASCII(dst, s, width)
	}
	start, w := 0, 0
	for i, r := range s {
		rw := text.RuneWidth(r)
		if w+rw > width && i > start {
			dst = append(dst, s[start:i])
			start, w = i, 0
		}
		w += rw
	}
	return append(dst, s[start:])
}
