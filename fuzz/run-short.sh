#!/usr/bin/env bash
# A short fuzz campaign for CI: builds every fuzz target once, writes the seed corpora,
# then fuzzes each target for SEALOG_FUZZ_SECONDS (default 20, at most 60) seconds.
# Exits non-zero, naming the artifact, if any target crashes, times out or runs out of
# memory. Needs only cargo and a C++ compiler (libfuzzer-sys builds libFuzzer); installs
# cargo-fuzz if missing. See fuzz/README.md.
#
#   bash fuzz/run-short.sh                      # from the repository root, or anywhere
#   SEALOG_FUZZ_SECONDS=20 bash fuzz/run-short.sh
#   SEALOG_FUZZ_TARGETS="frame_decode" bash fuzz/run-short.sh
#   SEALOG_FUZZ_SANITIZER=address bash fuzz/run-short.sh   # slower; see README.md
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
started=$SECONDS

seconds=${SEALOG_FUZZ_SECONDS:-20}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1 || seconds > 60)); then
    echo "run-short.sh: SEALOG_FUZZ_SECONDS must be 1..=60 (CI budget), got '$seconds'" >&2
    exit 2
fi
targets=${SEALOG_FUZZ_TARGETS:-"frame_decode segment_recover ingest_parse export_encode"}

# cargo-fuzz drives the build; the version is pinned so CI builds the same way each time.
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# No sanitizer by default: the code under test is safe Rust (bounds are checked and
# panic, which libFuzzer reports), and ASan costs build time and 2-6x the executions
# (README.md, "Sanitizer"). -a: debug assertions and overflow checks on, so arithmetic
# overflow is a crash.
sanitizer=${SEALOG_FUZZ_SANITIZER:-none}
build_flags=(-s "$sanitizer" -a)
# With -s none every flag cargo-fuzz passes to rustc is stable. A sanitizer needs the
# nightly-only -Zsanitizer: RUSTC_BOOTSTRAP=1 makes the stable toolchain accept it
# (README.md, "The stable toolchain"). Not set otherwise: it also switches on nightly
# code in some dependencies (proc-macro2, thiserror probe for it).
bootstrap=""
if [[ $sanitizer != none ]]; then
    export RUSTC_BOOTSTRAP=1
    bootstrap="RUSTC_BOOTSTRAP=1 "
else
    unset RUSTC_BOOTSTRAP
fi
triple=x86_64-unknown-linux-gnu
# One target dir for every target (and immune to a CARGO_TARGET_DIR set by the caller).
target_dir=$PWD/target
bin=$target_dir/$triple/release

echo "== building all fuzz targets (one build, shared target dir fuzz/target)"
cargo fuzz build "${build_flags[@]}" --target "$triple" --target-dir "$target_dir"
echo "   built in $((SECONDS - started)) s"

echo "== writing seed corpora"
"$bin/seeds" corpus

# Per-target libFuzzer options.
options_for() {
    case $1 in
        frame_decode) echo "-dict=dict/segment_recover.dict" ;;
        segment_recover) echo "-dict=dict/segment_recover.dict" ;;
        ingest_parse) echo "-dict=dict/ingest_parse.dict -max_len=16384" ;;
        export_encode) echo "-dict=dict/ingest_parse.dict -max_len=16384" ;;
        *) echo "unknown target $1" >&2; return 1 ;;
    esac
}

failed=()
summary=()
for target in $targets; do
    opts=$(options_for "$target")
    mkdir -p "artifacts/$target" "corpus/$target"
    # export_encode takes events: it starts from ingest_parse's seeds.
    if [[ $target == export_encode ]]; then
        cp -n corpus/ingest_parse/seed-* "corpus/$target/" 2>/dev/null || true
    fi
    log="artifacts/$target.log"
    echo "== fuzzing $target for $seconds s"
    before=$(find "artifacts/$target" -type f | sort)
    set +e
    # shellcheck disable=SC2086 # $opts is a list of flags
    "$bin/$target" $opts \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$target/" \
        "corpus/$target" >"$log" 2>&1
    status=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)
    summary+=("$target: ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-cov: ?}, exit $status")
    if ((status != 0)); then
        failed+=("$target")
        echo "!! $target FAILED (exit $status); last lines of $log:" >&2
        tail -n 60 "$log" >&2
        new=$(comm -13 <(echo "$before") <(find "artifacts/$target" -type f | sort))
        for artifact in $new; do
            echo "!! artifact: fuzz/$artifact" >&2
            echo "   reproduce (from the repository root): ${bootstrap}cargo fuzz run ${build_flags[*]} $target fuzz/$artifact" >&2
        done
    fi
done

echo "== summary ($((SECONDS - started)) s in all)"
printf '   %s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
    echo "run-short.sh: fuzzing found a crash in: ${failed[*]} (see fuzz/README.md: each crash becomes a named test in engine/tests/fuzz_regressions.rs)" >&2
    exit 1
fi
echo "run-short.sh: no crash"
