# dteq on the workspace create-nx-workspace@23.2.1
# --preset=react-monorepo --bundler=vite --unitTestRunner=vitest makes,
# with three libraries from `nx g @nx/react:library --bundler=vite` that
# import each other and its app importing them (tests/nx/real/gen.sh
# nx23, made once per machine): lint, test, build and typecheck (16 tasks)
# with two agents on copies of their own; the replay reads every task
# from the remote cache; every declared output reaches the main job's
# copy; a second pipeline is all cache hits; a library that does not
# compile and a failing test exit 1 with the dependents skipped
# (tests/nx/real/lib.sh: real_scenario).
# timeout: 1800

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"
. "$TOP/tests/nx/real/lib.sh"

real_scenario nx nx23
