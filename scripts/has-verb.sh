#!/usr/bin/env bash
# Succeeds when the liveimager binary BIN has the verb VERB. `BIN VERB --help` succeeding is not enough: for an
# unknown verb followed by --help, System.CommandLine prints the root's help and exits 0. A verb's own help names
# it on its usage line ("  liveimager capture <source> ...").
#
# usage: has-verb.sh BIN VERB
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BIN VERB" >&2; exit 2; }
help=$("$1" "$2" --help 2>&1) || exit 1
grep -qE "^ +[^ ]+ $2( |\$)" <<<"$help"
