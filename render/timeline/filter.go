package timeline

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// The filter (f): a pane of its own that toggles node columns and event kinds, with its own
// key map shown as its title line.

type filterItem struct {
	node, kind string
	on         bool
}

// filterKeys are the filter's keys.
type filterKeys struct {
	Up, Down, Toggle, All, Apply, Cancel, Quit key.Binding
}

func (k filterKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Toggle, k.All, k.Apply, k.Cancel}
}

func (k filterKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.Toggle, k.All}, {k.Apply, k.Cancel, k.Quit}}
}

// filterPane is the filter's model.
type filterPane struct {
	items  []filterItem
	cursor int
	keys   filterKeys
	help   help.Model
}

// filterResult is what a key did in the filter: closed it (done), the items applied or not.
type filterResult struct {
	done, apply bool
}

func newFilterPane(nodes, kinds []string, hidden, hideKind map[string]bool) filterPane {
	f := filterPane{help: help.New(), keys: filterKeys{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Toggle: key.NewBinding(key.WithKeys("space", "x"), key.WithHelp("space", "toggle")),
		All:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all")),
		Apply:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
		Cancel: key.NewBinding(key.WithKeys("esc", "q", "f"), key.WithHelp("esc", "cancel")),
		Quit:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}}
	for _, n := range nodes {
		f.items = append(f.items, filterItem{node: n, on: !hidden[n]})
	}
	for _, k := range kinds {
		f.items = append(f.items, filterItem{kind: k, on: !hideKind[k]})
	}
	return f
}

// update handles a key.
func (f *filterPane) update(msg tea.KeyPressMsg) (filterResult, tea.Cmd) {
	switch {
	case key.Matches(msg, f.keys.Up):
		f.cursor = max(f.cursor-1, 0)
	case key.Matches(msg, f.keys.Down):
		f.cursor = max(min(f.cursor+1, len(f.items)-1), 0)
	case key.Matches(msg, f.keys.Toggle):
		if f.cursor < len(f.items) {
			f.items[f.cursor].on = !f.items[f.cursor].on
		}
	case key.Matches(msg, f.keys.All):
		for i := range f.items {
			f.items[i].on = true
		}
	case key.Matches(msg, f.keys.Apply):
		return filterResult{done: true, apply: true}, nil
	case key.Matches(msg, f.keys.Cancel):
		return filterResult{done: true}, nil
	case key.Matches(msg, f.keys.Quit):
		return filterResult{}, tea.Quit
	}
	return filterResult{}, nil
}

// view draws the filter on a screen of width by height: its title and keys, then the items
// around the cursor.
func (f *filterPane) view(width, height int, title, cursor lipgloss.Style) string {
	var b strings.Builder
	head := "Filter"
	f.help.SetWidth(max(width-ansi.StringWidth(head)-2, 0))
	b.WriteString(title.Render(head) + "  " + f.help.View(f.keys))
	b.WriteByte('\n')
	h := max(height-2, 1)
	start := max(0, min(f.cursor-h/2, len(f.items)-h))
	for i := start; i < len(f.items) && i < start+h; i++ {
		it := f.items[i]
		box := "[ ]"
		if it.on {
			box = "[x]"
		}
		label := "node " + it.node
		if it.kind != "" {
			label = "kind " + it.kind
		}
		line := box + " " + label
		if i == f.cursor {
			line = cursor.Render("▶ " + line)
		} else {
			line = "  " + line
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
