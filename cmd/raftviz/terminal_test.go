package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fortytw2/leaktest"
	"golang.org/x/sys/unix"
)

// mainEnv makes the test binary run raftviz's main instead of the tests (see TestMain), so a
// test can start the real program on a pseudo-terminal.
const mainEnv = "RAFTVIZ_TEST_RUN_MAIN"

// mutePTY is a pseudo-terminal that never answers the program's questions, like screen, Emacs
// shells and many CI terminals. The program runs on its slave side with it as the controlling
// terminal; everything it writes is collected from the master side.
type mutePTY struct {
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
	once   sync.Once
	exited chan error // the program's exit (Wait), once it has exited
}

func startOnMutePTY(t *testing.T, args ...string) *mutePTY {
	t.Helper()
	return startOnMutePTYWithStdin(t, nil, args...)
}

// startOnMutePTYWithStdin is startOnMutePTY with stdin from in (nil: the terminal), as for
// go test -v | raftviz: the program then reads its keys from the terminal itself.
func startOnMutePTYWithStdin(t *testing.T, in *os.File, args ...string) *mutePTY {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1", "TERM=xterm-256color")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if in != nil {
		cmd.Stdin = in
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if in != nil {
		cmd.SysProcAttr.Ctty = 1 // the terminal is its stdout's
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &mutePTY{master: master, cmd: cmd, done: make(chan struct{}), exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return // EIO once the program and its terminal are gone
			}
		}
	}()
	t.Cleanup(p.close)
	return p
}

// close kills the program if it still runs and waits for both goroutines to end.
func (p *mutePTY) close() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		p.exited <- <-p.exited // put it back for a later wait
		p.master.Close()
		<-p.done
	})
}

// wait reports whether the program exited within d, and how.
func (p *mutePTY) wait(d time.Duration) (exited bool, err error) {
	select {
	case err := <-p.exited:
		p.exited <- err
		return true, err
	case <-time.After(d):
		return false, nil
	}
}

func (p *mutePTY) output() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.out.Bytes())
}

// waitFor polls the output until it contains re or the deadline passes.
func (p *mutePTY) waitFor(re *regexp.Regexp, within time.Duration) bool {
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if re.Match(p.output()) {
			return true
		}
	}
	return false
}

// colourQuery is what a program writes to ask the terminal for its colours (OSC 10/11) or the
// cursor position (DSR); where nothing answers, a program that waits for the answer stalls.
var colourQuery = regexp.MustCompile(`\x1b\]1[01];\?|\x1b\[6n`)

// TestTablesNeverQueryTheTerminal: the table commands print without asking the terminal
// anything. (bubbletea v1 asked for the background colour when the package was loaded, so
// every command of the binary waited 5 s on such terminals.)
func TestTablesNeverQueryTheTerminal(t *testing.T) {
	defer leaktest.Check(t)()
	for _, args := range [][]string{{td + "classic_go_test_v.log"}, {"--list", td + "classic_go_test_v.log"}} {
		p := startOnMutePTY(t, args...)
		exited, err := p.wait(3 * time.Second)
		p.close()
		if !exited || err != nil {
			t.Fatalf("raftviz %v on a terminal that never answers: exited %v (%v) within 3 s; wrote %q", args, exited, err, p.output())
		}
		if !bytes.Contains(p.output(), []byte("TestElection")) {
			t.Errorf("raftviz %v wrote no table: %q", args, p.output())
		}
		if q := colourQuery.Find(p.output()); q != nil {
			t.Errorf("raftviz %v asked the terminal %q", args, q)
		}
	}
}

// TestTimelineDoesNotWaitForTheTerminal: the timeline's first screen comes at once on a
// terminal that never answers, and q quits.
func TestTimelineDoesNotWaitForTheTerminal(t *testing.T) {
	defer leaktest.Check(t)()
	p := startOnMutePTY(t, "--tui", td+"classic_go_test_v.log")
	defer p.close()
	if !p.waitFor(regexp.MustCompile(`row 1/`), 2*time.Second) {
		t.Fatalf("no first screen within 2 s; wrote %q", p.output())
	}
	if _, err := p.master.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if exited, err := p.wait(5 * time.Second); !exited || err != nil {
		t.Fatalf("q did not quit the timeline: exited %v, %v", exited, err)
	}
}

// TestTimelineCollectsSooner: the timeline sets GOGC to timelineGC, unless the user set GOGC.
func TestTimelineCollectsSooner(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	tuneGC()
	if got := debug.SetGCPercent(100); got != timelineGC {
		t.Fatalf("GOGC %d, want %d", got, timelineGC)
	}
	t.Setenv("GOGC", "100")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC %d with the user's GOGC=100", got)
	}
}

// TestFollowWithoutInputOnATerminal: --follow with no file and a terminal on stdin is refused
// with the usage and exit 2, as the tables are, instead of opening a timeline that reads the
// keys typed to quit it as log lines.
func TestFollowWithoutInputOnATerminal(t *testing.T) {
	defer leaktest.Check(t)()
	p := startOnMutePTY(t, "--follow")
	defer p.close()
	exited, err := p.wait(3 * time.Second)
	var ee *exec.ExitError
	if !exited || !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !bytes.Contains(p.output(), []byte("no input: pipe go test output in")) {
		t.Fatalf("raftviz --follow on a terminal: exited %v (%v); wrote %q", exited, err, p.output())
	}
}

// TestTimelineCtrlCExits130: ctrl+c quits the timeline as an interrupted command (exit 130, as
// the README says and the tables do); q quits with 0.
func TestTimelineCtrlCExits130(t *testing.T) {
	defer leaktest.Check(t)()
	for key, want := range map[string]int{"\x03": exitInterrupted, "q": exitOK} {
		p := startOnMutePTY(t, "--tui", td+"classic_go_test_v.log")
		if !p.waitFor(regexp.MustCompile(`row 1/`), 3*time.Second) {
			p.close()
			t.Fatalf("no first screen; wrote %q", p.output())
		}
		if _, err := p.master.Write([]byte(key)); err != nil {
			t.Fatal(err)
		}
		exited, err := p.wait(5 * time.Second)
		p.close()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if !exited || code != want {
			t.Errorf("key %q: exited %v, code %d (%v), want %d", key, exited, code, err, want)
		}
	}
}

// TestTimelineOfAPipeStillWritten: go test -v | raftviz --tui while the tests still run: the
// lines that came are on screen without waiting for more, and q quits at once, though the pipe
// is still open (the program read on in the background and waited for it before).
func TestTimelineOfAPipeStillWritten(t *testing.T) {
	defer leaktest.Check(t)()
	log, err := os.ReadFile(td + "classic_go_test_v.log")
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(log); err != nil {
		t.Fatal(err)
	}
	p := startOnMutePTYWithStdin(t, r, "--tui")
	r.Close()
	defer p.close()
	if !p.waitFor(regexp.MustCompile(`row 1/`), 3*time.Second) {
		t.Fatalf("the lines that came are not on screen within 3 s; wrote %q", p.output())
	}
	if _, err := p.master.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if exited, err := p.wait(3 * time.Second); !exited || err != nil {
		t.Fatalf("q did not quit the timeline while its input was still open: exited %v, %v", exited, err)
	}
}
