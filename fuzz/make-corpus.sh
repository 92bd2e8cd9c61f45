#!/usr/bin/env bash
# Build fuzz/corpus/TARGET/ (not committed) for one target, or for all without an argument:
# the committed seeds (fuzz/seeds/TARGET/), the regression inputs (fuzz/regressions/TARGET/)
# and the shipped files that fuzz/sources.txt lists of at most 16 KiB (afl mutates small
# seeds many times faster; the committed seeds hold short excerpts of the larger files, and
# tests/fuzz_corpus.rs replays the large ones too).
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-}
targets=$(grep -v '^#' fuzz/sources.txt | awk 'NF {print $1}'; ls fuzz/seeds fuzz/regressions 2>/dev/null | grep -v ':$' || true)
for t in $(echo "$targets" | sort -u); do
    [ -z "$want" ] || [ "$t" = "$want" ] || continue
    dir=fuzz/corpus/$t
    rm -rf "$dir"
    mkdir -p "$dir"
    n=0
    add() {
        [ "$(stat -c %s "$1")" -le 16384 ] || return 0
        cp "$1" "$dir/$(echo "$1" | tr '/' '_')"
        n=$((n + 1))
    }
    for f in fuzz/seeds/"$t"/* fuzz/regressions/"$t"/*; do
        [ -f "$f" ] && add "$f"
    done
    while read -r tt folder suffix; do
        [ "$tt" = "$t" ] || continue
        while IFS= read -r f; do add "$f"; done < <(find "$folder" -type f -name "*$suffix" | sort)
    done < <(grep -v '^#' fuzz/sources.txt | awk 'NF')
    echo "corpus $t: $n files"
done
