package timeline

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// The prompt: one line typed at the bottom of the screen (a bubbles text input), for a search
// (/), a place to go to (:) or a file to export to (e). It has its own key map; the footer
// shows it while the line is open.

// promptKind says what the line typed is for.
type promptKind uint8

const (
	promptSearch promptKind = iota
	promptJump
	promptExport
)

var promptSigns = [...]struct{ prompt, placeholder, submit string }{
	promptSearch: {"/", "text, or re:regexp", "search"},
	promptJump:   {":", "row (8006), time (00:00:08.8) or offset (+1.5s)", "go"},
	promptExport: {"export to: ", "file name", "export"},
}

// promptKeys are the prompt's keys (the rest edit the line).
type promptKeys struct {
	Submit, Cancel key.Binding
}

func (k promptKeys) ShortHelp() []key.Binding { return []key.Binding{k.Submit, k.Cancel} }

func (k promptKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// promptLine is the prompt's model.
type promptLine struct {
	input textinput.Model
	kind  promptKind
	keys  promptKeys
}

func newPromptLine() promptLine {
	return promptLine{input: textinput.New(), keys: promptKeys{
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "search")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}}
}

// open opens the line for kind with value typed in already, on a screen width wide.
func (p *promptLine) open(kind promptKind, value string, width int) tea.Cmd {
	p.kind = kind
	p.input.Prompt = promptSigns[kind].prompt
	p.input.Placeholder = promptSigns[kind].placeholder
	// Without a width the input shows one character of the placeholder.
	p.input.SetWidth(max(width-len(p.input.Prompt)-1, 1))
	p.keys.Submit.SetHelp("enter", promptSigns[kind].submit)
	p.input.SetValue(value)
	p.input.CursorEnd()
	return p.input.Focus()
}

// value is the line typed.
func (p *promptLine) value() string { return p.input.Value() }

// promptResult is what a key did on the prompt: closed it (done), the line submitted or not.
type promptResult struct {
	done, submit bool
}

// update handles a key.
func (p *promptLine) update(msg tea.KeyPressMsg) (promptResult, tea.Cmd) {
	switch {
	case key.Matches(msg, p.keys.Submit):
		p.input.Blur()
		return promptResult{done: true, submit: true}, nil
	case key.Matches(msg, p.keys.Cancel):
		p.input.Blur()
		return promptResult{done: true}, nil
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return promptResult{}, cmd
}

// openPrompt opens the prompt line for kind with value typed in already.
func (m *Model) openPrompt(kind promptKind, value string) tea.Cmd {
	m.mode = modePrompt
	return m.prompt.open(kind, value, m.width)
}

// updatePrompt hands a key to the prompt; a line submitted does what it is for.
func (m *Model) updatePrompt(msg tea.KeyPressMsg) tea.Cmd {
	res, cmd := m.prompt.update(msg)
	if !res.done {
		return cmd
	}
	m.mode = modeTable
	if res.submit {
		switch m.prompt.kind {
		case promptSearch:
			cmd = m.submitSearch(m.prompt.value())
		case promptJump:
			cmd = m.jumpTo(m.prompt.value())
		case promptExport:
			cmd = m.export(m.prompt.value())
		}
	}
	m.clamp()
	return cmd
}
