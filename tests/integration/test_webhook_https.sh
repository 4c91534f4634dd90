#!/usr/bin/env bash
# Webhooks over https: a receiver behind TLS (socat in front of the test
# receiver) with a certificate from a private CA. With --webhook-ca-file
# the event is delivered and its signature verifies; without it the
# certificate is not trusted, the attempt fails with curl's reason and is
# retried, never sent in the clear.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null && command -v openssl >/dev/null ||
	fail "socat and openssl are needed (scripts/install-deps.sh installs them)"
printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64)" >"$T/secret"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" \
	-out "$T/cert.pem" 2>/dev/null || fail "openssl req"
start_receiver hooks
tls_port=$(( (RANDOM % 20000) + 30000 ))
socat OPENSSL-LISTEN:$tls_port,bind=127.0.0.1,reuseaddr,fork,cert="$T/cert.pem",key="$T/key.pem",verify=0 \
	TCP:127.0.0.1:$PORT 2>"$T/socat.log" &
RECV_PIDS+=($!)
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/$tls_port) 2>/dev/null && break
	sleep 0.05
done
url=https://127.0.0.1:$tls_port/hook

export REEL_WEBHOOK_RETRY_BASE_MS=100
start_reeld -v -v --webhook-secret-file "$T/secret"
vid=$(fake_video src.mp4) || fail "upload"
untrusted=$(ctl submit --video "$vid" --webhook "$url" --config x-fake=done --config x-i=1) || fail "submit"
wait_terminal "$untrusted"
for _ in $(seq 100); do
	grep -q "webhook $untrusted.completed attempt 2 to $url: .*[Cc]ertificate" "$T/reeld.log" && break
	sleep 0.05
done
grep -q "webhook $untrusted.completed attempt 2 to $url: .*[Cc]ertificate" "$T/reeld.log" ||
	fail "no certificate failure for an untrusted receiver"
ls "$T/hooks"/*.req >/dev/null 2>&1 && fail "a request reached the receiver without a trusted certificate"
echo "ok: untrusted certificate refused: $(grep -m1 -o "attempt 1 to $url: .*" "$T/reeld.log")"

kill -TERM "$REELD_PID"
wait "$REELD_PID"
REELD_PID=
start_reeld -v -v --webhook-secret-file "$T/secret" --webhook-ca-file "$T/cert.pem"
trusted=$(ctl submit --video "$vid" --webhook "$url" --config x-fake=done --config x-i=2) || fail "submit"
wait_terminal "$trusted"
for _ in $(seq 200); do
	grep -q "webhook $trusted.completed delivered to $url" "$T/reeld.log" && break
	sleep 0.05
done
grep -q "webhook $trusted.completed delivered to $url" "$T/reeld.log" || fail "not delivered over https"
# The earlier event, pending across the restart, now gets through too.
for _ in $(seq 200); do
	grep -q "webhook $untrusted.completed delivered" "$T/reeld.log" && break
	sleep 0.05
done
grep -q "webhook $untrusted.completed delivered" "$T/reeld.log" || fail "pending event not delivered"
"$BIN/tests/webhook_verify" "$T/secret" "$T/hooks"/*.req >"$T/verify.out" || fail "signatures: $(cat "$T/verify.out")"
echo "ok: https delivery with --webhook-ca-file; signatures $(cat "$T/verify.out")"
