#!/usr/bin/env bash
# Benchmark: Portcullis SFTP vs OpenSSH sshd (Debian package), both on loopback high ports with
# data in /dev/shm and their own host keys, measured interleaved in one run with OpenSSH `sftp`:
#   * 1 GiB download and upload for aes128-gcm@openssh.com, chacha20-poly1305@openssh.com and
#     aes128-ctr (+ hmac-sha2-256-etm)
#   * 2,000 files of 4 KiB up (put -r) and down (get -r)
#   * 200 sequential logins (key; `sftp -b` with one `pwd`)
#   * each server's CPU seconds, from a cpuacct cgroup per server when the machine has one (sshd's
#     per-connection processes included: /usr/bin/time misses them, sshd does not wait for them
#     in a way that adds their usage to its own), and peak RSS of the largest single process
#     (/usr/bin/time -v)
# Prints MB/s, files/s, logins/s and ours/OpenSSH. Run as root (creates a system user for sshd).
# Big and small transfers run ROUNDS times, interleaved: within a round each metric runs on both
# servers back to back, and which server goes first alternates from round to round; the table
# shows the mean over rounds.
# With the cgroups, each metric also gets the server's own CPU for it (cgroup delta around the
# transfer): s/GB, ms/file, ms/login.
# usage: bench/sftp-vs-openssh.sh [size-MiB] [rounds]   (defaults 1024, 3)
#   env: SMALL_FILES (2000), LOGINS (200), CIPHERS (space-separated; default the three below)
set -euo pipefail
SIZE_MB=${1:-1024}
ROUNDS=${2:-3}
SMALL_FILES=${SMALL_FILES:-2000}
LOGINS_N=${LOGINS:-200}
CIPHERS=${CIPHERS:-aes128-gcm@openssh.com chacha20-poly1305@openssh.com aes128-ctr}
HERE=$(cd "$(dirname "$0")/.." && pwd)
for b in sftp ssh-keygen /usr/sbin/sshd /usr/bin/time node bc; do command -v "$b" >/dev/null || { echo "missing: $b (apt-get install -y openssh-client openssh-server time bc)" >&2; exit 1; }; done
W=$(mktemp -d /dev/shm/sftpbench.XXXXXX)
chmod 755 "$W"
PIDS=()
# /usr/bin/time forwards no signals: stop the servers themselves (by pid), then the wrappers.
cleanup() {
  [ -n "${BENCH_DEBUG:-}" ] && tail -20 "$W/os/sshd.log" >&2
  [ -n "${OURS_TIME:-}" ] && for p in $(pgrep -P "$OURS_TIME"); do kill "$p" 2>/dev/null || true; done
  [ -f "$W/os/sshd.pid" ] && kill "$(cat "$W/os/sshd.pid")" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1; rm -rf "$W"
  for g in "${CG_OURS:-}" "${CG_OS:-}"; do
    [ -n "$g" ] || continue
    for _ in 1 2 3 4 5; do rmdir "$g" 2>/dev/null && break; sleep 1; done   # once its last process is gone
  done
}
# A cpuacct cgroup (v1) per server, if the machine lets us make one; else CPU comes from
# /usr/bin/time (sshd's sessions then missing).
CG_BASE=/sys/fs/cgroup/cpuacct
cg_make() { local d="$CG_BASE/sftpbench-$1-$$"; mkdir "$d" 2>/dev/null && echo "$d" || true; }
cg_cpu() { [ -n "$1" ] && [ -f "$1/cpuacct.usage" ] && echo "scale=1; $(cat "$1/cpuacct.usage") / 1000000000" | bc; }
cg_ns() { if [ -n "$1" ] && [ -f "$1/cpuacct.usage" ]; then cat "$1/cpuacct.usage"; else echo 0; fi; }
trap cleanup EXIT

USER_NAME=sftpbench
OUR_PORT=22222; OS_PORT=22022
mkdir -p "$W/ours" "$W/os" "$W/src/small" "$W/out"
head -c $((SIZE_MB*1024*1024)) /dev/zero | openssl enc -aes-128-ctr -pass pass:x -nosalt 2>/dev/null > "$W/src/big.bin"
for i in $(seq 1 "$SMALL_FILES"); do head -c 4096 /dev/urandom > "$W/src/small/f$i.bin"; done
ssh-keygen -q -t ed25519 -N '' -f "$W/id" -C bench

# --- OpenSSH: a private sshd config, its own host key, a system user whose home is in /dev/shm
id "$USER_NAME" >/dev/null 2>&1 || useradd -M -d "$W/os/home" -s /bin/sh "$USER_NAME"
usermod -d "$W/os/home" -p "*" "$USER_NAME"   # "*": no password, but not locked (sshd refuses "!")
mkdir -p "$W/os/home/.ssh" /run/sshd
cp "$W/id.pub" "$W/os/home/.ssh/authorized_keys"
chown -R "$USER_NAME" "$W/os/home"; chmod 700 "$W/os/home/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$W/os/host_ed25519"
cat > "$W/os/sshd_config" <<CONF
Port $OS_PORT
ListenAddress 127.0.0.1
HostKey $W/os/host_ed25519
PidFile $W/os/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowUsers $USER_NAME
Subsystem sftp internal-sftp
MaxStartups 100
CONF
CG_OS=$(cg_make os); CG_OURS=$(cg_make ours)
sh -c '[ -n "$1" ] && echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG_OS" /usr/bin/time -v -o "$W/os/time.txt" /usr/sbin/sshd -D -e -f "$W/os/sshd_config" 2>"$W/os/sshd.log" & PIDS+=($!)

# --- ours
cat > "$W/ours/config.yaml" <<CONF
dataDir: $W/ours/data
log: { level: warn }
ftps: { enabled: false }
metrics: { enabled: false }
sftp: { address: 127.0.0.1, port: $OUR_PORT }
limits: { maxConnectionsPerAddress: 256 }
rateLimits: { connectionsPerSecond: 0 }   # sshd has no such limit: 200 sequential logins would trip ours
defender: { safeList: ["127.0.0.1/32"] }
mfa: { required: false }   # sshd has no second factor: compare the protocol, not the login
CONF
(cd "$HERE" && node bin/portcullis.js user add "$USER_NAME" --key "$W/id.pub" --home "$W/ours/home" --config "$W/ours/config.yaml" >/dev/null)
(cd "$HERE" && exec sh -c '[ -n "$1" ] && echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG_OURS" /usr/bin/time -v -o "$W/ours/time.txt" node bin/portcullis.js serve --config "$W/ours/config.yaml" >/dev/null) & OURS_TIME=$!; PIDS+=($OURS_TIME)
sleep 4

now() { date +%s.%N; }
rate() { echo "scale=1; $1 / ($3 - $2)" | bc; }
SFTP=(sftp -q -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes -i "$W/id")
MB=$(echo "scale=6; $SIZE_MB * 1.048576" | bc)
batch() { printf '%s\n' "$@" > "$W/batch"; }

declare -A R   # sums over rounds
add() { R[$1]=$(echo "scale=3; ${R[$1]:-0} + $2" | bc); }
cg_of() { [ "$1" = ours ] && echo "$CG_OURS" || echo "$CG_OS"; }
declare -A C   # server CPU ns per metric, summed over rounds
c0=0; cstart() { c0=$(cg_ns "$(cg_of "$1")"); }
cstop() { C[$2]=$(( ${C[$2]:-0} + $(cg_ns "$(cg_of "$1")") - c0 )); }
order() { if [ $(($1 % 2)) -eq 1 ]; then echo "ours os"; else echo "os ours"; fi; }
port_of() { [ "$1" = ours ] && echo $OUR_PORT || echo $OS_PORT; }

# Warm-up, not measured: one 64 MiB put and get per server, so that the first measured transfer
# of the long-running Node process does not run on unoptimised code (sshd forks per connection
# and has nothing to warm up).
head -c $((64*1024*1024)) "$W/src/big.bin" > "$W/src/warm.bin"
for target in ours os; do
  batch "put $W/src/warm.bin warm.bin" "get warm.bin $W/out/warm.bin" "rm warm.bin"
  "${SFTP[@]}" -P "$(port_of $target)" -b "$W/batch" "$USER_NAME@127.0.0.1" >/dev/null
done

for round in $(seq 1 "$ROUNDS"); do
  for cipher in $CIPHERS; do
    for target in $(order "$round"); do
      port=$(port_of $target)
      batch "put $W/src/big.bin big.bin"
      cstart $target; t0=$(now); "${SFTP[@]}" -c "$cipher" -P "$port" -b "$W/batch" "$USER_NAME@127.0.0.1" >/dev/null; t1=$(now); cstop $target "$target.up.$cipher"
      add "$target.up.$cipher" "$(rate "$MB" "$t0" "$t1")"
      batch "get big.bin $W/out/big.bin"
      cstart $target; t0=$(now); "${SFTP[@]}" -c "$cipher" -P "$port" -b "$W/batch" "$USER_NAME@127.0.0.1" >/dev/null; t1=$(now); cstop $target "$target.down.$cipher"
      add "$target.down.$cipher" "$(rate "$MB" "$t0" "$t1")"
      cmp -s "$W/src/big.bin" "$W/out/big.bin" || { echo "$target $cipher: download differs" >&2; exit 1; }
      rm -f "$W/out/big.bin"
      batch "rm big.bin"; "${SFTP[@]}" -P "$port" -b "$W/batch" "$USER_NAME@127.0.0.1" >/dev/null
    done
  done
  for target in $(order "$round"); do
    port=$(port_of $target)
    batch "mkdir small" "put -r $W/src/small/ small"
    cstart $target; t0=$(now); "${SFTP[@]}" -P "$port" -b "$W/batch" "$USER_NAME@127.0.0.1" >/dev/null; t1=$(now); cstop $target "$target.smallup"
    add "$target.smallup" "$(rate "$SMALL_FILES" "$t0" "$t1")"
    rm -rf "$W/out/small"; mkdir -p "$W/out/small"
    batch "get -r small/ $W/out/small"
    cstart $target; t0=$(now); "${SFTP[@]}" -P "$port" -b "$W/batch" "$USER_NAME@127.0.0.1" >/dev/null; t1=$(now); cstop $target "$target.smalldown"
    add "$target.smalldown" "$(rate "$SMALL_FILES" "$t0" "$t1")"
    [ "$(find "$W/out/small" -type f | wc -l)" -eq "$SMALL_FILES" ] || { echo "$target: small download incomplete" >&2; exit 1; }
    batch "-rm small/small/*" "-rmdir small/small" "-rm small/*" "rmdir small"; "${SFTP[@]}" -P "$port" -b "$W/batch" "$USER_NAME@127.0.0.1" >/dev/null
  done
  echo "round $round of $ROUNDS done" >&2
done
# Logins once (sshd's are slow: 200 take about a minute).
# Idle authenticated session: the server's memory with 20 sftp sessions open and idle against
# without (ours: RSS of the Node process; sshd: sum of the RSS of its per-session processes).
rss_kib() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0))); done; echo $t; }
procs_of() { cat "$(cg_of "$1")/cgroup.procs" 2>/dev/null | grep -v "^$(cat "$W/os/sshd.pid" 2>/dev/null)\$" || true; }
declare -A IDLE
for target in ours os; do
  [ -n "$(cg_of $target)" ] || break
  before=$(rss_kib $(procs_of $target)); IPIDS=()
  for i in $(seq 1 20); do (sleep 8 | "${SFTP[@]}" -P "$(port_of $target)" "$USER_NAME@127.0.0.1" >/dev/null 2>&1) & IPIDS+=($!); done
  sleep 5; after=$(rss_kib $(procs_of $target))
  IDLE[$target]=$(( (after - before) / 20 ))
  wait "${IPIDS[@]}" 2>/dev/null || true
done
declare -A LOGINS
for target in ours os; do
  batch "pwd"
  cstart $target; t0=$(now); for i in $(seq 1 "$LOGINS_N"); do "${SFTP[@]}" -P "$(port_of $target)" -b "$W/batch" "$USER_NAME@127.0.0.1" >/dev/null; done; t1=$(now); cstop $target "$target.logins"
  LOGINS[$target]=$(rate "$LOGINS_N" "$t0" "$t1")
done

# stop both servers (the processes we started, by pid) so /usr/bin/time writes its report
for p in $(pgrep -P "$OURS_TIME"); do kill -INT "$p" 2>/dev/null || true; done
kill -TERM "$(cat "$W/os/sshd.pid")" 2>/dev/null || true
sleep 3
cpu() { awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.1f", u+s}' "$1" 2>/dev/null || echo '?'; }
rss() { awk -F': ' '/Maximum resident/{printf "%.0f", $2/1024}' "$1" 2>/dev/null || echo '?'; }

mean() { echo "scale=1; ${R[$1]} / $ROUNDS" | bc; }
# server CPU for a metric: ns summed over rounds / (rounds x units) scaled
cpu_per() { echo "scale=2; ${C[$1]:-0} / ($2 * $3)" | bc; }
GB=$(echo "scale=6; $SIZE_MB * 1.048576 / 1000" | bc)
echo "mean of $ROUNDS interleaved rounds ($SIZE_MB MiB big file, $SMALL_FILES x 4 KiB small files); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-52s %10s %10s %8s %24s\n' metric ours openssh ratio "server CPU ours / sshd"
for cipher in $CIPHERS; do
  for d in down up; do
    o=$(mean "ours.$d.$cipher"); x=$(mean "os.$d.$cipher")
    printf '%-52s %10s %10s %8s %24s\n' "$SIZE_MB MiB $d MB/s ($cipher)" "$o" "$x" "$(echo "scale=2; $o / $x" | bc)" \
      "$(cpu_per "ours.$d.$cipher" "$ROUNDS" "$GB*1000000000") / $(cpu_per "os.$d.$cipher" "$ROUNDS" "$GB*1000000000") s/GB"
  done
done
for m in "smalldown:$SMALL_FILES x 4 KiB down files/s" "smallup:$SMALL_FILES x 4 KiB up files/s"; do
  k=${m%%:*}; label=${m#*:}
  o=$(mean "ours.$k"); x=$(mean "os.$k")
  printf '%-52s %10s %10s %8s %24s\n' "$label" "$o" "$x" "$(echo "scale=2; $o / $x" | bc)" \
    "$(cpu_per "ours.$k" "$ROUNDS" "$SMALL_FILES*1000000") / $(cpu_per "os.$k" "$ROUNDS" "$SMALL_FILES*1000000") ms/file"
done
printf '%-52s %10s %10s %8s %24s\n' "$LOGINS_N sequential logins/s (one run)" "${LOGINS[ours]}" "${LOGINS[os]}" "$(echo "scale=2; ${LOGINS[ours]} / ${LOGINS[os]}" | bc)" \
  "$(cpu_per ours.logins 1 "$LOGINS_N*1000000") / $(cpu_per os.logins 1 "$LOGINS_N*1000000") ms/login"
printf '%-52s %10s %10s\n' "idle authenticated session KiB (RSS, 20 open)" "${IDLE[ours]:-?}" "${IDLE[os]:-?}"
if [ -n "$CG_OURS" ] && [ -n "$CG_OS" ]; then
  printf '%-52s %10s %10s\n' "server CPU seconds (cgroup, whole run)" "$(cg_cpu "$CG_OURS")" "$(cg_cpu "$CG_OS")"
else
  printf '%-52s %10s %10s\n' "server CPU s (/usr/bin/time; sshd's sessions missing)" "$(cpu "$W/ours/time.txt")" "$(cpu "$W/os/time.txt")"
fi
printf '%-52s %10s %10s\n' "server peak RSS MiB (largest process)" "$(rss "$W/ours/time.txt")" "$(rss "$W/os/time.txt")"
