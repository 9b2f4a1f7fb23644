# Fault: t_kill_agent in a signed run. The killed agent's messages carry
# their signature (v1:MAC:JSON) when submit reclaims them; each must still
# be read, counted lost and run again, or the run waits for ever.
# timeout: 90

export DTEQ_SECRET=kill-agent-signed-secret
. "$TOP/tests/faults/t_kill_agent.sh"
