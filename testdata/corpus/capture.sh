#!/usr/bin/env bash
# Regenerates the corpus of home-made Raft logs: real students' and hobbyists' implementations,
# each run with its own tests, debug output switched on, under the race detector.
#
#   testdata/corpus/capture.sh SRC [NAME...]
#
# SRC holds one directory per repository of repos.tsv, named OWNER+REPO, with that repository's
# files at the commit recorded there (git archive of the commit). The repositories are public;
# this script does not fetch them. For each it switches the implementation's own debug output on
# (the sed or environment of repos.tsv), runs the tests of repos.tsv with -race -v (the timeout is
# go test's own -timeout: some runs are meant to time out, as labs' runs often do), and writes
# NAME.log here: go test -v output, cut after CAP lines (a lab's debug output runs to gigabytes).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: capture.sh SRC [NAME...]}
shift
only=" $* "
CAP=${CAP:-12000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# repos.tsv: name, repository, commit, package dir, debug switch (sed:FILE:EXPR | env:VAR=VALUE |
# none), test regexp, timeout.
while IFS=$'\t' read -r name repo commit dir switch tests timeout; do
	case "$name" in ''|'#'*) continue ;; esac
	if [ "$only" != "  " ] && [[ "$only" != *" $name "* ]]; then continue; fi
	from="$src/${repo/\//+}"
	if [ ! -d "$from" ]; then echo "capture.sh: $from missing (repository $repo at $commit)" >&2; continue; fi
	rm -rf "$work/$name"; cp -r "$from" "$work/$name"; chmod -R u+w "$work/$name"
	envs=()
	case "$switch" in
	sed:*) IFS=: read -r _ file expr <<<"$switch"; sed -i "$expr" "$work/$name/$dir/$file" ;;
	env:*) envs+=("${switch#env:}") ;;
	esac
	echo "== $name ($repo $commit): go test -race -v -run '$tests' in $dir" >&2
	# go test's -timeout ends a hung run with its goroutine dump; the outer timeout is a backstop.
	(cd "$work/$name/$dir" && env "${envs[@]}" GOFLAGS=-mod=mod timeout $((${timeout%s} + 120)) go test -race -vet=off -v -count 1 -run "$tests" -timeout "$timeout" . 2>&1) |
		head -n "$CAP" >"$here/$name.log"
	echo "   $(wc -l <"$here/$name.log") lines, $(grep -c '^--- FAIL' "$here/$name.log") failed tests" >&2
done <"$here/repos.tsv"
