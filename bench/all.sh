#!/usr/bin/env bash
# Issue 21's whole comparison in one command (as root, on a quiet machine): SFTP against
# OpenSSH's sshd and FTPS against vsftpd (each interleaved: within a round every metric runs on
# both servers back to back, the first alternating per round; server CPU per GB, per file and per
# login from each server's cgroup), then the server's own CPU per small file for both protocols,
# memory after sessions close, and 4×N concurrent downloads with 1 and 2 workers.
#   bench/all.sh [size-MiB=512] [rounds=3]   env: SMALL_FILES (1000), LOGINS (100)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-512}
ROUNDS=${2:-3}
export SMALL_FILES=${SMALL_FILES:-1000} LOGINS=${LOGINS:-100}
node scripts/build.mjs   # the servers run the bundle: build it from these sources
section() { printf '\n== %s (load average %s)\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
section "SFTP vs OpenSSH"
CIPHERS="aes128-gcm@openssh.com chacha20-poly1305@openssh.com" bench/sftp-vs-openssh.sh "$SIZE_MB" "$ROUNDS"
section "FTPS vs vsftpd"
SIZE_MB=$SIZE_MB bench/ftps-vs-vsftpd.sh "$ROUNDS"
section "server CPU per small file, SFTP (OpenSSH sftp)"
node --import tsx bench/sftp-per-file-cpu.ts "$SMALL_FILES"
section "server CPU per small file, FTPS (lftp)"
node --import tsx bench/ftps-per-file-cpu.ts "$SMALL_FILES"
section "memory after sessions close"
node --expose-gc --import tsx bench/session-memory.ts 1000 4 20
section "workers: 4xN concurrent SFTP downloads"
node --import tsx bench/multicore.ts 128 "$ROUNDS" 1,2
