# Soak under chaos: 300 tasks in a random DAG (deps only on lower-numbered
# tasks), each sleeping 0-200 ms and logging "start|end ID AGENT ATTEMPT NS";
# four agents (--parallel 2, --lease 2) while a chaos loop SIGKILLs a random
# agent every 2-4 s and starts a replacement. At the end: submit exits 0,
# every task has exactly one final result (success) and one block, no task
# started (in its recorded attempt) before all its deps' recorded attempts
# ended, no (task, attempt) was started twice. Prints the figures.
# The scenario repeats (fresh run, graph and agents) until SOAK_SECONDS
# (default 20; 600 for a long soak) have passed, at most 4 rounds.
# SOAK_SEED fixes the graphs; SOAK_TASKS changes their size.
# timeout: 300

. "$TOP/tests/faults/faultlib.sh"

ntasks=${SOAK_TASKS:-300}
seed=${SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
info "tasks $ntasks, seed $seed"

rand_below() {
	echo $(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1))
}

start_redis
gen=0

soak_round() {
	tf="$TMP/soak.json"
	tlog="$TMP/tasks.log"
	: >"$tlog"
	# The graph: task i depends on task i-1 with probability 0.7 (a long
	# critical path, so the run lasts long enough for many kills) and on 0-2
	# more of the 8 tasks before it; its command sleeps a fixed 0-200 ms.
	# deps.txt: "ID DEP..." a line.
	awk -v n="$ntasks" -v seed="$seed" -v logf="$tlog" '
	BEGIN {
		srand(seed)
		print "{\"tasks\": ["
		for (i = 0; i < n; i++) {
			id = sprintf("t%03d", i)
			ms = int(rand() * 201)
			cmd = sprintf("echo \\\"start %s $DTEQ_AGENT $DTEQ_ATTEMPT $(date +%%s%%N)\\\" >>%s; sleep %d.%03d; echo \\\"end %s $DTEQ_AGENT $DTEQ_ATTEMPT $(date +%%s%%N)\\\" >>%s", id, logf, ms / 1000, ms % 1000, id, logf)
			k = (i == 0) ? 0 : int(rand() * 3)
			deps = ""; line = id
			delete used
			if (i > 0 && rand() < 0.7) {
				used[i - 1] = 1
				deps = sprintf("\"t%03d\"", i - 1)
				line = line sprintf(" t%03d", i - 1)
			}
			for (j = 0; j < k; j++) {
				lo = i - 8; if (lo < 0) lo = 0
				d = lo + int(rand() * (i - lo))
				if (d in used) continue
				used[d] = 1
				deps = deps (deps == "" ? "" : ", ") sprintf("\"t%03d\"", d)
				line = line sprintf(" t%03d", d)
			}
			printf "  {\"id\": \"%s\", \"command\": \"%s\"", id, cmd
			if (deps != "") printf ", \"deps\": [%s]", deps
			printf "}%s\n", (i < n - 1) ? "," : ""
			print line >"'"$TMP"'/deps.txt"
		}
		print "]}"
	}' >"$tf"

	nslots=4
	for s in 1 2 3 4; do
		gen=$((gen + 1))
		start_agent "s$s-$gen" --parallel 2
		eval "slot$s=s$s-$gen"
	done
	bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 "$tf"
	started=$(now_ms)

	kills=0
	next_kill=$(($(now_ms) + 2000 + $(rand_below 2001)))
	limit=$((started + 180000))
	while ! bg_done submit; do
		now=$(now_ms)
		[ "$now" -lt "$limit" ] || fail "submit still running after 180 s"
		if [ "$now" -ge "$next_kill" ]; then
			# Prefer an agent that holds a task right now.
			busy=""
			for b in 1 2 3 4; do
				eval "a=\$slot$b"
				[ "$(rcli llen "dteq:{$RUN}:running:$a")" -gt 0 ] 2>/dev/null &&
				    busy="$busy $b"
			done
			if [ -n "$busy" ]; then
				set -- $busy
				s=$(eval "echo \$$(($(rand_below $#) + 1))")
			else
				s=$(($(rand_below $nslots) + 1))
			fi
			eval "victim=\$slot$s"
			if ! bg_done "agent.$victim"; then
				kill -KILL "$(bg_pid "agent.$victim")" 2>/dev/null
				kills=$((kills + 1))
				wait_for "bg_done agent.$victim" 5 ||
				    fail "agent $victim survived SIGKILL"
			fi
			gen=$((gen + 1))
			start_agent "s$s-$gen" --parallel 2
			eval "slot$s=s$s-$gen"
			next_kill=$(($(now_ms) + 2000 + $(rand_below 2001)))
		fi
		sleep 0.2
	done
	wall=$(elapsed_ms "$started")
	info "submit ended after ${wall} ms with status $(bg_rc submit); $kills agents killed"
	assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
	for s in 1 2 3 4; do
		eval "a=\$slot$s"
		agents_exit_ok 20 "$a"
	done
	# Orphans of killed agents end on their own (<= 200 ms); let their last
	# lines land before reading the log.
	sleep 0.5

	# The recorded results: "ID STATUS ATTEMPT AGENT" a line.
	rcli --raw hgetall "dteq:{$RUN}:results" | awk '
	NR % 2 == 1 { id = $0; next }
	{
		st = $0; sub(/.*"status":"/, "", st); sub(/".*/, "", st)
		at = $0; sub(/.*"attempt":/, "", at); sub(/[,}].*/, "", at)
		ag = $0; sub(/.*"agent":"/, "", ag); sub(/".*/, "", ag)
		if ($0 !~ /"agent":"/) ag = "-"
		print id, st, at, ag
	}' >"$TMP/results.txt"

	awk -v n="$ntasks" -v out="$TMP/submit.out" '
	FILENAME ~ /results.txt$/ { st[$1] = $2; att[$1] = $3; ag[$1] = $4; nres++; next }
	FILENAME ~ /deps.txt$/ { ndeps[$1] = NF - 1; for (j = 2; j <= NF; j++) dep[$1, j - 1] = $j; next }
	{
		# tasks.log
		key = $2 SUBSEP $4
		if ($1 == "start") {
			starts[$2]++
			if (key in who && who[key] != $3) dupagent++
			if (key in sn) dupstart++
			who[key] = $3; sn[key] = $5
		} else if ($1 == "end") {
			en[key] = $5
		}
	}
	END {
		while ((getline line < out) > 0) {
			if (line ~ /^> t[0-9]+ \(/) { split(line, f, " "); blocks[f[2]]++ }
		}
		for (i = 0; i < n; i++) {
			id = sprintf("t%03d", i)
			if (!(id in st)) { lost++; print "no result: " id; continue }
			if (st[id] != "success") { bad++; print "status " st[id] ": " id; continue }
			if (blocks[id] != 1) { badblk++; print blocks[id] + 0 " blocks: " id }
			k = id SUBSEP att[id]
			if (!(k in sn)) { nostart++; print "no start line for " id " attempt " att[id]; continue }
			if (who[k] != ag[id]) { wrongag++; print id " attempt " att[id] " started by " who[k] ", result names " ag[id] }
			if (!(k in en)) { noend++; print "no end line for " id " attempt " att[id] }
			for (j = 1; j <= ndeps[id]; j++) {
				d = dep[id, j]; dk = d SUBSEP att[d]
				if (!(dk in en) || en[dk] + 0 > sn[k] + 0) {
					order++
					print id " (attempt " att[id] ") started before dep " d " (attempt " att[d] ") ended"
				}
			}
			if (starts[id] > 1) reruns += starts[id] - 1
			if (starts[id] > 1) rerun_tasks++
		}
		printf "FIGURES results=%d lost=%d notsuccess=%d badblocks=%d nostart=%d noend=%d wrongagent=%d order=%d dup_attempt_starts=%d dup_attempt_agents=%d reruns=%d rerun_tasks=%d\n", \
		    nres, lost, bad, badblk, nostart, noend, wrongag, order, dupstart, dupagent, reruns, rerun_tasks
	}' "$TMP/results.txt" "$TMP/deps.txt" "$tlog" >"$TMP/check.txt"
	grep -v '^FIGURES' "$TMP/check.txt" | head -20
	figures=$(grep '^FIGURES' "$TMP/check.txt")
	info "$figures"
	info "soak: tasks=$ntasks kills=$kills wall=${wall}ms seed=$seed"
	get() { echo "$figures" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
	assert_eq "$(get results)" "$ntasks" "results recorded"
	assert_eq "$(get lost)" 0 "tasks without a result (lost)"
	assert_eq "$(get notsuccess)" 0 "tasks whose result is not success"
	assert_eq "$(get badblocks)" 0 "tasks not printed exactly once"
	assert_eq "$(get nostart)" 0 "recorded attempts with no start line"
	assert_eq "$(get noend)" 0 "recorded attempts with no end line"
	assert_eq "$(get wrongagent)" 0 "recorded attempts started by another agent"
	assert_eq "$(get order)" 0 "tasks started before a dependency ended"
	assert_eq "$(get dup_attempt_starts)" 0 "(task, attempt) pairs started twice"
	assert_eq "$(get dup_attempt_agents)" 0 "(task, attempt) pairs started by two agents"
	assert_grep "^$ntasks tasks: $ntasks succeeded, 0 failed" "$TMP/submit.out" \
	    "summary totals"
}

# Rounds of the whole scenario (a fresh run, graph and agents each) until
# SOAK_SECONDS (default 20) have passed, at most 4.
base_run=$RUN
total_kills=0
total_reruns=0
round=0
soak_start=$(now_ms)
while :; do
	round=$((round + 1))
	RUN="$base_run-r$round"
	seed=$((seed + 1))
	log "round $round: run $RUN, seed $seed"
	soak_round
	total_kills=$((total_kills + kills))
	total_reruns=$((total_reruns + $(get reruns)))
	[ "$(elapsed_ms "$soak_start")" -lt $((${SOAK_SECONDS:-20} * 1000)) ] || break
	[ $round -lt 4 ] || break
done
[ "$total_kills" -ge 3 ] || fail "only $total_kills kills happened (want >= 3)"
info "SOAK TOTAL: rounds=$round tasks=$((round * ntasks)) kills=$total_kills reruns=$total_reruns duplicates=0 lost=0 wall=$(elapsed_ms "$soak_start")ms"
exit 0
