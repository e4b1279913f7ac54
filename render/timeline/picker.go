package timeline

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/table"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// The test picker (t): a pane of its own, a bubbles table of the run's tests narrowed by a
// filter typed after / into a bubbles text input. It has two key maps, one while the list has
// the keys and one while the filter is typed; its title line is their help.

// pickerKeys are the picker's keys while the list has them (the table's own move the cursor).
type pickerKeys struct {
	table.KeyMap
	Pick, Filter, Back, Quit key.Binding
}

func (k pickerKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Pick, k.Filter, k.LineUp, k.LineDown, k.Back}
}

func (k pickerKeys) FullHelp() [][]key.Binding {
	return append([][]key.Binding{{k.Pick, k.Filter, k.Back, k.Quit}}, k.KeyMap.FullHelp()...)
}

// pickerTypingKeys are the picker's keys while the filter is typed (the rest edit it).
type pickerTypingKeys struct {
	Done, Clear, Quit key.Binding
}

func (k pickerTypingKeys) ShortHelp() []key.Binding { return []key.Binding{k.Done, k.Clear} }

func (k pickerTypingKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Done, k.Clear, k.Quit}}
}

// picker is the test picker's model.
type picker struct {
	list   table.Model
	all    []table.Row // every test's row, built once when the picker opens
	input  textinput.Model
	tests  []int // the shown rows' tests (indexes into Model.tests): those the filter keeps
	keys   pickerKeys
	typing pickerTypingKeys
	help   help.Model
	// width, height and noColor lay the list out.
	width, height int
	noColor       bool
}

// pickerResult is what a key did in the picker: nothing for the model (done false), or closed
// it, on a test (test >= 0) or not.
type pickerResult struct {
	done bool
	test int
}

// newPicker opens a picker on rows (one per test), test selected under the cursor.
func newPicker(rows []table.Row, selected, width, height int, noColor bool) picker {
	p := picker{all: rows, input: textinput.New(), help: help.New(), width: width, height: height, noColor: noColor}
	p.input.Prompt = "/"
	p.input.Placeholder = "part of a test's name"
	p.input.SetWidth(30) // without a width the input shows one character of the placeholder
	p.keys = pickerKeys{
		KeyMap: table.DefaultKeyMap(),
		Pick:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "show")),
		Filter: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Back:   key.NewBinding(key.WithKeys("esc", "q", "t"), key.WithHelp("esc", "back")),
		Quit:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
	p.typing = pickerTypingKeys{
		Done:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "done")),
		Clear: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),
		Quit:  p.keys.Quit,
	}
	p.relayout(selected)
	return p
}

// filter is the case-insensitive part of a test's name the picker keeps.
func (p *picker) filter() string { return strings.ToLower(p.input.Value()) }

// resize lays the picker out for a new screen size, keeping the test under the cursor.
func (p *picker) resize(width, height int) {
	p.width, p.height = width, height
	p.relayout(p.picked())
}

// relayout lays the list out for the screen's width and the filter, keeping the selected test
// under the cursor when it is still listed.
func (p *picker) relayout(selected int) {
	var rows []table.Row
	p.tests = p.tests[:0]
	nameW := 20
	cursor := 0
	filter := p.filter()
	for i, r := range p.all {
		if filter != "" && !strings.Contains(strings.ToLower(r[1]), filter) {
			continue
		}
		if i == selected {
			cursor = len(rows)
		}
		nameW = max(nameW, len(r[1]))
		rows = append(rows, r)
		p.tests = append(p.tests, i)
	}
	nameW = min(nameW, max(p.width-40, 20))
	st := table.DefaultStyles()
	if p.noColor {
		// Without colours the selected row is shown in reverse video, as the table's cursor is.
		st.Selected = lipgloss.NewStyle().Reverse(true)
	}
	p.list = table.New(
		table.WithColumns([]table.Column{{Title: "STATUS", Width: 8}, {Title: "TEST", Width: nameW},
			{Title: "EVENTS", Width: 8}, {Title: "NODES", Width: 16}}),
		table.WithRows(rows), table.WithFocused(true), table.WithHeight(max(p.height-3, 3)), table.WithWidth(p.width),
		table.WithStyles(st), table.WithKeyMap(p.keys.KeyMap))
	p.list.SetCursor(cursor)
}

// picked is the test under the cursor, or -1 when the filter keeps none.
func (p *picker) picked() int {
	if i := p.list.Cursor(); i >= 0 && i < len(p.tests) {
		return p.tests[i]
	}
	return -1
}

// update handles a key.
func (p *picker) update(msg tea.KeyPressMsg) (pickerResult, tea.Cmd) {
	if p.input.Focused() {
		keep := p.picked()
		var cmd tea.Cmd
		switch {
		case key.Matches(msg, p.typing.Done):
			p.input.Blur()
			return pickerResult{}, nil
		case key.Matches(msg, p.typing.Clear):
			p.input.Blur()
			p.input.SetValue("")
		case key.Matches(msg, p.typing.Quit):
			return pickerResult{}, tea.Quit
		default:
			p.input, cmd = p.input.Update(msg)
		}
		p.relayout(keep)
		return pickerResult{}, cmd
	}
	switch {
	case key.Matches(msg, p.keys.Back):
		return pickerResult{done: true, test: -1}, nil
	case key.Matches(msg, p.keys.Filter):
		return pickerResult{}, p.input.Focus()
	case key.Matches(msg, p.keys.Pick):
		return pickerResult{done: true, test: p.picked()}, nil
	case key.Matches(msg, p.keys.Quit):
		return pickerResult{}, tea.Quit
	}
	var cmd tea.Cmd
	p.list, cmd = p.list.Update(msg)
	return pickerResult{}, cmd
}

// view draws the picker: a title line with the filter and the keys, then the list.
func (p *picker) view(title lipgloss.Style) string {
	head := "Pick a test"
	var keys help.KeyMap = p.keys
	switch {
	case p.input.Focused():
		head += " " + p.input.View()
		keys = p.typing
	case p.input.Value() != "":
		head += " matching " + strconv.Quote(p.input.Value())
	}
	p.help.SetWidth(max(p.width-ansi.StringWidth(head)-2, 0))
	return title.Render(head) + "  " + p.help.View(keys) + "\n" + p.list.View()
}
