package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/raftviz/raftviz/parse"
	"github.com/raftviz/raftviz/parse/profile"
)

// profileFlags are the flags that choose how lines are read, shared by every subcommand.
type profileFlags struct {
	name       string
	nodeRe     string
	timeLayout string
	user       []*profile.Profile // the user's own profiles, after resolve
}

func (pf *profileFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&pf.name, "profile", "", "read lines with this log `profile`: a built-in name (hashicorp, etcd, etcd-trace, dslogs, json, classic) or a profile file (docs/PROFILES.md); detected by default")
	fs.StringVar(&pf.nodeRe, "node-re", "", "quick profile: a `regexp` with a (?P<node>...) group that finds the node in each line (and optionally (?P<time>...), (?P<msg>...))")
	fs.StringVar(&pf.timeLayout, "time-layout", "", "Go time `layout` of the (?P<time>...) group of --node-re, e.g. 2006-01-02T15:04:05Z07:00")
}

// resolve returns the forced profile, or nil to detect one, and reads the user's own profiles
// (profile.UserDir) into pf.user: they take part in detection, and --profile NAME finds them.
func (pf *profileFlags) resolve() (*profile.Profile, error) {
	user, err := profile.LoadUser()
	if err != nil {
		return nil, err
	}
	pf.user = user
	for _, p := range user {
		if pf.name != "" && p.Name == pf.name && pf.nodeRe == "" {
			return p, nil
		}
	}
	switch {
	case pf.name != "" && pf.nodeRe != "":
		return nil, fmt.Errorf("--profile and --node-re do not go together")
	case pf.nodeRe != "":
		classic, _ := profile.Lookup("classic")
		return profile.Custom(pf.nodeRe, pf.timeLayout, classic)
	case pf.timeLayout != "":
		return nil, fmt.Errorf("--time-layout needs --node-re")
	case pf.name != "":
		return profile.Load(pf.name)
	}
	return nil, nil
}

// profilesCommand is raftviz profiles: the profiles raftviz reads logs with, built in and the
// user's own, with where each comes from; "show NAME" prints one as a file to start from.
func profilesCommand(args []string, stdout, stderr io.Writer) int {
	user, err := profile.LoadUser()
	if err != nil {
		fmt.Fprintf(stderr, "raftviz profiles: %v\n", err)
		return exitUsage
	}
	all := append(user[:len(user):len(user)], profile.Builtins()...)
	switch {
	case len(args) == 0 || (len(args) == 1 && args[0] == "list"):
		tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tFROM\tDETECTED\tDESCRIPTION")
		for _, p := range all {
			how := "no (--profile only)"
			switch {
			case p.HasDetect() && p.HasWording():
				how = "by its lines and its wording"
			case p.HasDetect() || (p.Builtin != "" && p.Source == "builtin"):
				how = "by its lines"
			case p.HasWording():
				how = "by its wording"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Source, how, p.Description)
		}
		tw.Flush()
		if dir := profile.UserDir(); dir != "" {
			fmt.Fprintf(stdout, "\nyour own profiles: %s/*.profile (raftviz profiles show NAME > there/mine.profile to start one)\n", dir)
		}
		return exitOK
	case len(args) == 2 && args[0] == "show":
		for _, p := range all {
			if p.Name == args[1] {
				fmt.Fprint(stdout, p.Text)
				return exitOK
			}
		}
		names := make([]string, len(all))
		for i, p := range all {
			names[i] = p.Name
		}
		fmt.Fprintf(stderr, "raftviz profiles: no profile %q (have: %s)\n", args[1], strings.Join(names, ", "))
		return exitUsage
	case len(args) == 2 && args[0] == "learn":
		return learnProfile(args[1], stdout, stderr)
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help"):
		fmt.Fprint(stdout, "usage: raftviz profiles [list]     the profiles, built in and your own, and where each comes from\n"+
			"       raftviz profiles show NAME  print one, to copy and edit (docs/PROFILES.md)\n"+
			"       raftviz profiles learn LOG  infer one from a log of your own Raft, to edit and keep\n")
		return exitOK
	}
	fmt.Fprintf(stderr, "raftviz profiles: unknown arguments %q (raftviz profiles -h)\n", strings.Join(args, " "))
	return exitUsage
}

// learnProfile prints the profile inferred from the start of a log (what raftviz reads a log no
// profile knows with), to edit and keep.
func learnProfile(path string, stdout, stderr io.Writer) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "raftviz profiles learn: %v\n", pathError(err))
		return exitUsage
	}
	defer f.Close()
	res, ok := parse.Learn(f)
	if !ok {
		fmt.Fprintf(stderr, "raftviz profiles learn: %s: no line shape names a cluster's servers (S1, [1], server 1, ...) near the start of most lines; "+
			"write one from raftviz profiles show classic (docs/PROFILES.md)\n", path)
		return exitTestsFailed
	}
	fmt.Fprint(stdout, res.Text)
	fmt.Fprintf(stderr, "raftviz profiles learn: %d of %d debug lines of the sample name a server; keep it with raftviz --profile FILE or in %s\n",
		res.Lines, res.Sampled, userDirHint())
	return exitOK
}

// userDirHint names the directory of a user's profiles.
func userDirHint() string {
	if dir := profile.UserDir(); dir != "" {
		return dir + "/"
	}
	return "$XDG_CONFIG_HOME/raftviz/profiles/"
}
