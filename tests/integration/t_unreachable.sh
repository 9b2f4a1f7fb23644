# Redis unreachable: submit exits 3 promptly, names the server it tried,
# and never prints the password of the URL (or of DTEQ_REDIS_PASSWORD).
# timeout: 90

. "$TOP/tests/integration/lib.sh"

port=$(random_port)
url="redis://user:s3cret@127.0.0.1:$port"

log "submit --redis URL-with-password, --connect-timeout 2"
CLI_SECS=30
unreachable submit 10 "$port" s3cret submit --redis "$url" --run "$RUN" \
    --connect-timeout 2 "$TOP/examples/monorepo.json"

log "DTEQ_REDIS_URL and DTEQ_REDIS_PASSWORD"
DTEQ_REDIS_URL="redis://127.0.0.1:$port"
DTEQ_REDIS_PASSWORD=s3cret
export DTEQ_REDIS_URL DTEQ_REDIS_PASSWORD
unreachable submit-env 10 "$port" s3cret submit --run "$RUN" \
    --connect-timeout 2 "$TOP/examples/monorepo.json"
unset DTEQ_REDIS_URL DTEQ_REDIS_PASSWORD

log "work --wait 2"
CLI_SECS=60
unreachable work 25 "$port" s3cret work --redis "$url" --run "$RUN" --wait 2
exit 0
