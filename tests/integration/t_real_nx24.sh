# dteq on an Nx 24 workspace: create-nx-workspace@23.2.1 --preset=ts taken
# to 24.0.6 by `nx migrate`, then three libraries from Nx 24's `nx g
# @nx/js:library --bundler=tsc` (vitest) that import each other and an app
# from `nx g @nx/web:application --bundler=vite` importing them
# (tests/nx/real/gen.sh nx24, made once per machine): lint, test, build
# and typecheck with two agents on copies of their own; the replay reads
# every task from the remote cache; every declared output reaches the
# main job's copy; a second pipeline is all cache hits; a library that
# does not compile and a failing test exit 1 with the dependents skipped
# (tests/nx/real/lib.sh: real_scenario).
# timeout: 1800

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"
. "$TOP/tests/nx/real/lib.sh"

real_scenario nx nx24
