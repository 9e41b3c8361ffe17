#!/usr/bin/env bash
# check.sh - install what is needed, build with -Werror, and pass every test:
# the Check unit tests and the integration tests through ctest, then the same
# under AddressSanitizer + UndefinedBehaviorSanitizer, then each libFuzzer
# target for a short, bounded time. Exit status 0 only if all of it passes.
#
#   tools/check.sh            everything
#   FUZZ_SECONDS=60 tools/check.sh
#   CHECK_SKIP_ASAN=1 / CHECK_SKIP_FUZZ=1 to leave a stage out (local use)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

tools/install-deps.sh

echo "== build (gcc, -Wall -Wextra -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIMC_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
ctest --test-dir build --output-on-failure --timeout 900

if [ "${CHECK_SKIP_ASAN:-0}" != 1 ]; then
	echo "== build and tests under ASan + UBSan"
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DIMC_SANITIZE=ON >/dev/null
	cmake --build build-asan -j"$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir build-asan --output-on-failure --timeout 1800
fi

if [ "${CHECK_SKIP_FUZZ:-0}" != 1 ]; then
	echo "== fuzz targets (clang libFuzzer + ASan), ${FUZZ_SECONDS:-20}s each"
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug \
		-DIMC_FUZZ=ON -DIMC_SANITIZE=ON >/dev/null
	cmake --build build-fuzz -j"$jobs"
	shopt -s nullglob
	for target in build-fuzz/fuzz/fuzz_*; do
		name=$(basename "$target")
		corpus=tests/fuzz/corpus/$name
		work=$(mktemp -d)
		seeds=()
		[ -d "$corpus" ] && seeds=("$corpus")
		echo "-- $name"
		"$target" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 \
			-timeout=10 -artifact_prefix="$work/" "$work" "${seeds[@]}" \
			> "$work/log" 2>&1 || {
			tail -40 "$work/log"
			echo "fuzz target $name failed; artifacts in $work" >&2
			exit 1
		}
		tail -1 "$work/log"
		rm -rf "$work"
	done
fi
echo "check.sh: all stages passed"
