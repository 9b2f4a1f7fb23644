# dteq on a Turborepo 2.11 workspace whose packages Turborepo's generator
# makes (`turbo gen workspace`; create-turbo needs GitHub), built with tsc
# and tsup, tested with vitest, importing each other (tests/nx/real/gen.sh
# turbo, made once per machine): lint, test, build and check-types (16
# tasks) with two agents on copies of their own; the replay reads every
# task from the remote cache; every declared output reaches the main
# job's copy; a second pipeline is all cache hits; a package that does
# not compile and a failing test exit 1 with the dependents skipped
# (tests/nx/real/lib.sh: real_scenario).
# timeout: 1200

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"
. "$TOP/tests/nx/real/lib.sh"

real_scenario turbo turbo
