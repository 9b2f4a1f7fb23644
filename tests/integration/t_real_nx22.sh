# dteq on the workspace create-nx-workspace@22.7.12 --preset=ts makes, with
# three libraries from `nx g @nx/js:library --bundler=tsc` (vitest) that
# import each other and an app from `nx g @nx/node:application`
# (tests/nx/real/gen.sh nx22, made once per machine): lint, test, build
# and typecheck (15 tasks) with two agents on copies of their own; the
# replay reads every task from the remote cache; every declared output
# reaches the main job's copy; a second pipeline is all cache hits; a
# library that does not compile and a failing test exit 1 with the
# dependents skipped (tests/nx/real/lib.sh: real_scenario).
# timeout: 1800

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"
. "$TOP/tests/nx/real/lib.sh"

real_scenario nx nx22
