package timeline

import (
	tea "charm.land/bubbletea/v2"
)

// The prompt: one line typed at the bottom of the screen (a bubbles text input), for a search
// (/), a place to go to (:) or a file to export to (e).

// promptKind says what the line typed is for.
type promptKind uint8

const (
	promptSearch promptKind = iota
	promptJump
	promptExport
)

var promptSigns = [...]struct{ prompt, placeholder string }{
	promptSearch: {"/", "text, or re:regexp"},
	promptJump:   {":", "row (8006), time (00:00:08.8) or offset (+1.5s)"},
	promptExport: {"export to: ", "file name"},
}

// openPrompt opens the prompt line for kind with value typed in already.
func (m *Model) openPrompt(kind promptKind, value string) tea.Cmd {
	m.mode, m.promptFor = modePrompt, kind
	m.prompt.Prompt = promptSigns[kind].prompt
	m.prompt.Placeholder = promptSigns[kind].placeholder
	m.prompt.SetValue(value)
	m.prompt.CursorEnd()
	return m.prompt.Focus()
}

// updatePrompt edits the line; enter does what it is for, esc closes it.
func (m *Model) updatePrompt(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case msg.Code == tea.KeyEnter:
		m.mode = modeTable
		m.prompt.Blur()
		var cmd tea.Cmd
		switch m.promptFor {
		case promptSearch:
			cmd = m.submitSearch(m.prompt.Value())
		case promptJump:
			m.jumpTo(m.prompt.Value())
		case promptExport:
			m.export(m.prompt.Value())
		}
		m.clamp()
		return cmd
	case msg.Code == tea.KeyEscape:
		m.mode = modeTable
		m.prompt.Blur()
		m.clamp()
		return nil
	}
	var cmd tea.Cmd
	m.prompt, cmd = m.prompt.Update(msg)
	return cmd
}
