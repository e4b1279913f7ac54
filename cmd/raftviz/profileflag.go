package main

import (
	"flag"
	"fmt"

	"github.com/raftviz/raftviz/parse/profile"
)

// profileFlags are the flags that choose how lines are read, shared by every subcommand.
type profileFlags struct {
	name       string
	nodeRe     string
	timeLayout string
}

func (pf *profileFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&pf.name, "profile", "", "read lines with this log `profile`: a built-in name (hashicorp, etcd, etcd-trace, dslogs, json, classic) or a profile file (docs/PROFILES.md); detected by default")
	fs.StringVar(&pf.nodeRe, "node-re", "", "quick profile: a `regexp` with a (?P<node>...) group that finds the node in each line (and optionally (?P<time>...), (?P<msg>...))")
	fs.StringVar(&pf.timeLayout, "time-layout", "", "Go time `layout` of the (?P<time>...) group of --node-re, e.g. 2006-01-02T15:04:05Z07:00")
}

// resolve returns the forced profile, or nil to detect one.
func (pf *profileFlags) resolve() (*profile.Profile, error) {
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
