#!/bin/sh
# Run policywatch from cron, quietly: cron mails whatever a job prints, so this prints only news.
#
#   crontab -e
#   MAILTO=you@example.org
#   17 6 * * *  /home/you/watch/cron.sh
#
# The folder of this script holds policies.yaml (and snapshots/ beside it). Exit codes of `policywatch check`:
#   0  nothing risky: print the changes and recoveries, if any (nothing at all on a quiet day)
#   1  a new risky clause at or above --fail-on: print the report under a RISK line (cron mails it)
#   2  usage or config error, nothing ran: print the error every time until it is fixed
#   3  a policy could not be fetched: the store remembers the error, so --quiet prints it only on the run
#      where it starts (and again when it ends), instead of mailing the same failure every day
set -u
cd "$(dirname "$0")" || exit 2

report=$(mktemp) || exit 2
trap 'rm -f "$report"' EXIT

# --wait: a slow run still holding the store makes this one wait instead of failing.
policywatch check --quiet --wait 600 >"$report" 2>&1
status=$?

case $status in
  0|3) cat "$report" ;;
  1)   echo "RISK: policywatch found new risky clauses"; echo; cat "$report" ;;
  *)   echo "policywatch could not run (exit $status):"; cat "$report" ;;
esac

# Optional: keep the history in git, so `git log -p snapshots/` reads like the policies' change log.
if [ -d .git ] && [ "$status" -ne 2 ]; then
  git add snapshots/ && { git diff --cached --quiet || git commit --quiet -m "policywatch: new policy versions"; }
fi
exit "$status"
