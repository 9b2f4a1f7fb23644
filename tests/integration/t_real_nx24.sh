# dteq on a workspace the tools' own generators make (create-nx-workspace@23.2.1 --preset=node-monorepo migrated by nx migrate to Nx 24.0.7, three @nx/js:library (tsc, jest) libraries and its app; tests/nx/real/gen.sh nx24, made once per machine): two agents on copies of their own, the replay reads every task from the remote cache, every declared output reaches the main copy, a second pipeline is all cache hits, and a broken build and a failing test exit 1 with the dependents skipped (tests/nx/real/lib.sh, real_scenario).
# timeout: 900

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"
. "$TOP/tests/nx/real/lib.sh"

real_scenario nx nx24
