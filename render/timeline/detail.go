package timeline

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// The text pane: a pane of its own that shows the event detail (enter) or the test's output
// (!) in a bubbles viewport, with its own key map shown as its title line.

// paneKeys are the text pane's keys: the viewport's, and back.
type paneKeys struct {
	viewport.KeyMap
	Back, Quit key.Binding
}

func (k paneKeys) ShortHelp() []key.Binding { return []key.Binding{k.Back, k.Down, k.Up, k.PageDown} }

func (k paneKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Back, k.Quit}, {k.Up, k.Down, k.PageUp, k.PageDown, k.HalfPageUp, k.HalfPageDown}}
}

// textPane is the text pane's model.
type textPane struct {
	title string
	view  viewport.Model
	keys  paneKeys
	help  help.Model
}

func newTextPane(title, text string, width, height int) textPane {
	p := textPane{title: title, help: help.New(), keys: paneKeys{
		KeyMap: viewport.DefaultKeyMap(),
		Back:   key.NewBinding(key.WithKeys("esc", "q", "enter"), key.WithHelp("esc", "back")),
		Quit:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}}
	p.view = viewport.New(viewport.WithWidth(width), viewport.WithHeight(max(height-2, 1)))
	p.view.KeyMap = p.keys.KeyMap
	p.view.SoftWrap = true // a long message or panic line is read whole, not cut at the edge
	p.view.SetContent(text)
	return p
}

// resize fits the pane to a new screen size.
func (p *textPane) resize(width, height int) {
	p.view.SetWidth(width)
	p.view.SetHeight(max(height-2, 1))
}

// update handles a key; done says it closed the pane.
func (p *textPane) update(msg tea.KeyPressMsg) (done bool, cmd tea.Cmd) {
	switch {
	case key.Matches(msg, p.keys.Back):
		return true, nil
	case key.Matches(msg, p.keys.Quit):
		return false, tea.Quit
	}
	p.view, cmd = p.view.Update(msg)
	return false, cmd
}

// render draws the pane: its title and keys, then the text.
func (p *textPane) render(width int, title lipgloss.Style) string {
	p.help.SetWidth(max(width-ansi.StringWidth(p.title)-2, 0))
	return title.Render(p.title) + "  " + p.help.View(p.keys) + "\n" + p.view.View()
}
