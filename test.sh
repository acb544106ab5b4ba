#!/usr/bin/env bash
# Runs every test of Fabric Gateway. Installs the Debian peers the interop tests need when they are missing
# (apt-get; needs root or sudo), builds in Release, runs all test projects, and ends with one summary line:
#   N passed, N failed, N skipped
set -uo pipefail
cd "$(dirname "$0")"

./scripts/install-peers.sh || { echo "could not install the test peers (see above)"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

if ! dotnet build Gateway.sln -c Release -nologo -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Minimal verbosity prints failing tests with their messages and one summary line per test assembly:
#   Passed!  - Failed:     0, Passed:   515, Skipped:     0, Total:   515, Duration: 18 s - X.Tests.dll
dotnet test Gateway.sln -c Release --no-build -nologo --logger "console;verbosity=minimal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- ' "$log" | awk -F'[:,]' '
  { for (i = 1; i <= NF; i++) {
      if ($i ~ /Failed$/)  f += $(i+1);
      if ($i ~ /Passed$/)  p += $(i+1);
      if ($i ~ /Skipped$/) s += $(i+1);
  } }
  END { printf "%d %d %d\n", p, f, s }')
assemblies=$(grep -cE '(Passed|Failed)! +- ' "$log" || true)
expected=$(grep -lE '<IsTestProject>true</IsTestProject>' $(git ls-files '*.csproj' 2>/dev/null || find . -name '*.csproj') 2>/dev/null | wc -l)
if [ "$assemblies" -lt "$expected" ]; then
  echo "only $assemblies of $expected test assemblies reported a result"
  failed=$(( ${failed:-0} + expected - assemblies ))
fi
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  failed=1 # the run failed without a failing test (crash, abort): never report green
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "$status" -eq 0 ] && [ "${failed:-0}" -eq 0 ]
