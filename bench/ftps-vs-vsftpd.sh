#!/usr/bin/env bash
# Benchmark: Portcullis FTPS vs vsftpd (Debian package), both on loopback high ports with data in
# /dev/shm, measured interleaved in one run:
#   * 1 GiB download and upload with curl (--ssl-reqd)
#   * 2,000 small files (4 KiB) with `lftp mirror` (download) and `mirror -R` (upload)
# Each metric is run on both servers back to back (the first one alternates per round).
# Prints MB/s, files/s and the ratio ours/vsftpd. Needs: curl lftp vsftpd openssl node.
# Each server runs in its own cpuacct cgroup when the machine has one (vsftpd's per-session
# processes included); each metric then also gets the server's CPU for it: s/GB, ms/file.
# usage: bench/ftps-vs-vsftpd.sh [rounds]   (default 1)
#   env: SIZE_MB (1024), SMALL_FILES (2000)
set -euo pipefail
ROUNDS=${1:-1}
SIZE_MB=${SIZE_MB:-1024}
SMALL_FILES=${SMALL_FILES:-2000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
for b in curl lftp vsftpd openssl node; do command -v "$b" >/dev/null || { echo "missing: $b" >&2; exit 1; }; done
W=$(mktemp -d /dev/shm/ftpsbench.XXXXXX)
PIDS=()
CG_BASE=/sys/fs/cgroup/cpuacct
cg_make() { local d="$CG_BASE/ftpsbench-$1-$$"; mkdir "$d" 2>/dev/null && echo "$d" || true; }
cg_ns() { if [ -n "$1" ] && [ -f "$1/cpuacct.usage" ]; then cat "$1/cpuacct.usage"; else echo 0; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$W"
  for g in "${CG_OURS:-}" "${CG_VS:-}"; do [ -n "$g" ] && for _ in 1 2 3 4 5; do rmdir "$g" 2>/dev/null && break; sleep 1; done; done; true
}
trap cleanup EXIT

USER_NAME=bench; PASS=benchpass-$$
OUR_PORT=22121; VS_PORT=22021
mkdir -p "$W/ours" "$W/vs/home" "$W/src/small" "$W/out"
chmod 755 "$W" "$W/vs"   # mktemp makes 0700: the vsftpd user must reach its home
head -c $((SIZE_MB*1024*1024)) /dev/zero | openssl enc -aes-128-ctr -pass pass:x -nosalt 2>/dev/null > "$W/src/big.bin"
for i in $(seq 1 "$SMALL_FILES"); do head -c 4096 /dev/urandom > "$W/src/small/f$i.bin"; done

# --- vsftpd: a private config, a system user chrooted to W/vs/home
id "$USER_NAME" >/dev/null 2>&1 || useradd -M -d "$W/vs/home" -s /bin/sh "$USER_NAME"   # pam_shells needs a listed shell
echo "$USER_NAME:$PASS" | chpasswd
usermod -d "$W/vs/home" "$USER_NAME"
chown -R "$USER_NAME" "$W/vs/home"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/vs/key.pem" -out "$W/vs/cert.pem" -days 2 -subj /CN=127.0.0.1 2>/dev/null
mkdir -p "$W/vs/empty"
cat > "$W/vs/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=$VS_PORT
anonymous_enable=NO
local_enable=YES
write_enable=YES
chroot_local_user=YES
allow_writeable_chroot=YES
secure_chroot_dir=$W/vs/empty
ssl_enable=YES
ssl_tlsv1=YES
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=YES
rsa_cert_file=$W/vs/cert.pem
rsa_private_key_file=$W/vs/key.pem
pasv_min_port=52000
pasv_max_port=52100
pam_service_name=vsftpd
seccomp_sandbox=NO
check_shell=NO
background=NO
CONF
# vsftpd 3.0.3 writes its "500 OOPS" start-up errors to fd 0: point it at stderr.
CG_VS=$(cg_make vs); CG_OURS=$(cg_make ours)
sh -c '[ -n "$1" ] && echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG_VS" vsftpd "$W/vs/vsftpd.conf" 0>&2 & PIDS+=($!)

# --- ours
cat > "$W/ours/config.yaml" <<CONF
dataDir: $W/ours/data
log: { level: warn }
sftp: { enabled: false }
metrics: { enabled: false }
mfa: { required: false }   # vsftpd has no second factor: compare the protocol, not the login
ftps: { address: 127.0.0.1, port: $OUR_PORT, implicitPort: null, passivePorts: "51000-51100" }
CONF
(cd "$HERE" && echo "$PASS" | node bin/portcullis.js user add "$USER_NAME" --password-stdin --home "$W/ours/home" --config "$W/ours/config.yaml" >/dev/null)
# exec: $! is the server itself, so the cleanup kills it (a subshell in between would survive it
# and keep the bench lock open).
(cd "$HERE" && exec sh -c '[ -n "$1" ] && echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG_OURS" node bin/portcullis.js serve --config "$W/ours/config.yaml" >/dev/null) & PIDS+=($!)
sleep 3

now() { date +%s.%N; }
rate() { echo "scale=1; $1 / ($3 - $2)" | bc; }
CURL=(curl -sS --fail -k --ssl-reqd -u "$USER_NAME:$PASS")
LFTP_SET="set ssl:verify-certificate no; set ftp:ssl-force true; set ftp:ssl-protect-data true; set mirror:parallel-transfer-count 1"

port_of() { [ "$1" = ours ] && echo $OUR_PORT || echo $VS_PORT; }
lftp_on() { lftp -c "$LFTP_SET; open -u $USER_NAME,$PASS ftp://127.0.0.1:$(port_of "$1"); $2"; }
# One measurement of metric $1 against server $2; stores R[$2.$1] (this round) and adds to S[$2.$1].
measure() {
  local metric=$1 target=$2 port t0 t1 amount cg c0
  port=$(port_of "$target")
  [ "$target" = ours ] && cg=$CG_OURS || cg=$CG_VS
  c0=$(cg_ns "$cg")
  case $metric in
    up)        t0=$(now); "${CURL[@]}" -T "$W/src/big.bin" "ftp://127.0.0.1:$port/big.bin"; t1=$(now); amount=$MB ;;
    down)      t0=$(now); "${CURL[@]}" -o "$W/out/big.bin" "ftp://127.0.0.1:$port/big.bin"; t1=$(now); amount=$MB
               cmp -s "$W/src/big.bin" "$W/out/big.bin" || { echo "$target: downloaded big.bin differs" >&2; exit 1; }
               rm -f "$W/out/big.bin" ;;
    smallup)   t0=$(now); lftp_on "$target" "mirror -R $W/src/small small"; t1=$(now); amount=$SMALL_FILES ;;
    smalldown) rm -rf "$W/out/small"
               t0=$(now); lftp_on "$target" "mirror small $W/out/small"; t1=$(now); amount=$SMALL_FILES
               [ "$(ls "$W/out/small" | wc -l)" = "$SMALL_FILES" ] || { echo "$target: small download incomplete" >&2; exit 1; } ;;
  esac
  R[$target.$metric]=$(rate "$amount" "$t0" "$t1")
  S[$target.$metric]=$(echo "${S[$target.$metric]:-0} + ${R[$target.$metric]}" | bc)
  C[$target.$metric]=$(( ${C[$target.$metric]:-0} + $(cg_ns "$cg") - c0 ))
}

# Interleaved: within a round each metric is measured on both servers back to back, and the
# server that goes first alternates from one round to the next.
declare -A R S C
MB=$(echo "scale=6; $SIZE_MB * 1.048576" | bc)
METRICS=("up:$SIZE_MB MiB upload MB/s" "down:$SIZE_MB MiB download MB/s" "smallup:$SMALL_FILES files up files/s" "smalldown:$SMALL_FILES files down files/s")
table() {   # $1: R (this round) or S (sum over rounds); $2: divisor
  local -n T=$1
  printf '%-34s %10s %10s %7s\n' metric ours vsftpd ratio
  for m in "${METRICS[@]}"; do
    k=${m%%:*}
    printf '%-34s %10s %10s %7s\n' "${m#*:}" "$(echo "scale=1; ${T[ours.$k]} / $2" | bc)" "$(echo "scale=1; ${T[vs.$k]} / $2" | bc)" "$(echo "scale=2; ${T[ours.$k]} / ${T[vs.$k]}" | bc)"
  done
}
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then ORDER=(ours vs); else ORDER=(vs ours); fi
  for m in "${METRICS[@]}"; do
    for target in "${ORDER[@]}"; do measure "${m%%:*}" "$target"; done
  done
  for target in ours vs; do lftp_on "$target" "rm -r small; rm big.bin" >/dev/null 2>&1 || true; done
  echo "round $round (${ORDER[0]} first)"
  table R 1
done
if [ "$ROUNDS" -gt 1 ]; then
  echo "mean of $ROUNDS rounds"
  table S "$ROUNDS"
fi
if [ -n "$CG_OURS" ] && [ -n "$CG_VS" ]; then
  echo "server CPU (cgroup), ours / vsftpd; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  per() { echo "scale=2; ${C[$1]:-0} / ($ROUNDS * $2)" | bc; }
  for k in up down; do echo "  $k: $(per ours.$k "$MB*1000000") / $(per vs.$k "$MB*1000000") s/GB"; done
  for k in smallup smalldown; do echo "  $k: $(per ours.$k "$SMALL_FILES*1000000") / $(per vs.$k "$SMALL_FILES*1000000") ms/file"; done
fi
