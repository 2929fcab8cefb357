#!/usr/bin/env bash
# layers.sh: the source folders depend one way, in the order of the data flow.
#
# Each folder of src/ is a stage; a file may include the headers of its own
# stage and of stages below it, never of a stage above or beside it (stages
# on one line are beside each other). The order, lowest first:
#
#   common
#   data
#   prep
#   learn
#   search  forecast
#   registry
#   train  serve
#   monitor  evaluate
#
# src/automl.c (the module's _PG_init) sits above every stage. Prints every
# include that breaks the order, with its file and line, and fails if any does.
# Runs from `make check-layers` and from test/run.sh (no server needed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../src"

declare -A rank=(
	[common]=0 [data]=1 [prep]=2 [learn]=3 [search]=4 [forecast]=4
	[registry]=5 [train]=6 [serve]=6 [monitor]=7 [evaluate]=7
)

bad=0
checked=0
for dir in */; do
	dir=${dir%/}
	if [[ -z ${rank[$dir]+x} ]]; then
		echo "src/$dir/: a folder without a place in the order (add it to test/scripts/layers.sh and DESIGN.md)"
		bad=$((bad + 1))
		continue
	fi
	for file in "$dir"/*.[ch]; do
		while IFS=: read -r line target; do
			stage=${target%%/*}
			[[ -n ${rank[$stage]+x} ]] || continue	# a PostgreSQL header
			checked=$((checked + 1))
			[[ $stage == "$dir" ]] && continue
			if ((rank[$stage] >= rank[$dir])); then
				echo "src/$file:$line includes $target: $dir may not depend on $stage"
				bad=$((bad + 1))
			fi
		done < <(grep -n '^#include "' "$file" | sed -E 's/^([0-9]+):#include "([^"]+)".*/\1:\2/')
	done
done
echo "layers: $checked includes of the extension's own headers checked, $bad out of order"
[[ $bad -eq 0 ]]
