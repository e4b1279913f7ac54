#!/usr/bin/env bash
# visualize.sh: run one Go test with Raft debug output switched on and write its per-node timing
# table to a file.
#
#   ./visualize.sh -t TestFigure8                     # a test of this project's ./raft package
#   ./visualize.sh -t TestFoo ./path/to/your/raft     # any package, relative to where you are
#   ./visualize.sh -t TestFoo -o foo.txt -- -json     # choose the output file; raftrun test flags
#
# The test runs under raftrun test, which switches debug output on with RAFT_DEBUG=1 (no source
# edit). The raw log is kept next to the table as <test>.log. Exit status: 0 when the test
# passed, 1 when it failed (the table is written either way), 2 for bad usage.
set -uo pipefail

usage() {
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

test=""
out=""
pkg=""
gotest=()
while [ $# -gt 0 ]; do
	case $1 in
	-t | -o)
		[ $# -ge 2 ] || { echo "visualize.sh: $1 needs a value" >&2; exit 2; }
		if [ "$1" = -t ]; then test=$2; else out=$2; fi
		shift 2
		;;
	-h | --help) usage ;;
	--)
		shift
		gotest=("$@")
		break
		;;
	-*) echo "visualize.sh: unknown flag $1 (see -h; go test flags go after --)" >&2; exit 2 ;;
	*)
		[ -z "$pkg" ] || { echo "visualize.sh: one package at a time ($pkg, $1)" >&2; exit 2; }
		pkg=$1
		shift
		;;
	esac
done
if [ -z "$test" ]; then
	echo "visualize.sh: name the test with -t TestName (see -h)" >&2
	exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rundir="$root"
if [ -z "$pkg" ]; then
	pkg="./raft/"
else
	rundir=$PWD # a package given by the user is relative to where they are
	if [ -d "$pkg" ]; then
		# A directory: run go test inside it, so it works from outside its module too.
		rundir=$(cd "$pkg" && pwd)
		pkg=.
	fi
fi
out=${out:-$PWD/$test.txt}
raw="${out%.txt}.log"

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
if ! (cd "$root" && go build -o "$bin/raftviz" ./cmd/raftviz && go build -o "$bin/raftrun" ./cmd/raftrun); then
	echo "visualize.sh: could not build raftviz and raftrun" >&2
	exit 2
fi

echo "running $test in $pkg with RAFT_DEBUG=1 ..." >&2
# raftrun's report names the log in a temporary folder that is gone when this script ends: the
# log is moved to $raw, which the last line names, so those paths are left out.
(cd "$rundir" && "$bin/raftrun" test -run "^${test}\$" -count 1 --keep-all -runs "$bin/runs" "${gotest[@]}" "$pkg") 2>&1 |
	sed -e "s|; [0-9]* logs* in $bin/runs/[0-9]*/||" -e "\|$bin/runs/|d" >&2
status=${PIPESTATUS[0]}
if [ $status -eq 2 ]; then
	exit 2 # raftrun said why
fi
logs=("$bin"/runs/*/*)
if [ ! -f "${logs[0]}" ]; then
	echo "visualize.sh: raftrun kept no log of $test" >&2
	exit 2
fi
mv "${logs[0]}" "$raw"
if ! "$bin/raftviz" --quiet -run "^${test}\$" -o "$out" "$raw"; then
	echo "visualize.sh: raftviz could not read $raw" >&2
	exit 2
fi
if ! grep -q -e "^=== RUN   ${test}\$" -e "\"Test\":\"${test}\"" "$raw"; then
	echo "visualize.sh: go test did not run $test (see $raw)" >&2
	exit 2
fi
result=PASS
[ $status -ne 0 ] && result=FAIL
echo "$result: timing table in $out (raw log in $raw)" >&2
[ $status -eq 0 ]
