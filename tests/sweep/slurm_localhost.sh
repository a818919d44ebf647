#!/usr/bin/env bash
# Starts a real single-node Slurm cluster (munged + slurmctld + slurmd from Debian's
# slurm-wlm) on localhost in a private folder, runs COMMAND... with SLURM_CONF pointing at
# it, and tears the cluster down again whatever happens.
#   slurm_localhost.sh COMMAND [ARGS...]
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then echo "slurm_localhost.sh: needs root (slurmd runs jobs as their user)" >&2; exit 2; fi
for t in munged slurmctld slurmd sbatch; do
  command -v "$t" >/dev/null || { echo "slurm_localhost.sh: $t missing (scripts/setup installs slurm-wlm, munge)" >&2; exit 2; }
done
D="$(mktemp -d /tmp/cardsim-slurm.XXXXXX)"
chmod 755 "$D"
HOST="$(hostname -s)"
# Free ports (the controller and node daemon of another cluster may be running).
read -r CTL_PORT NODE_PORT < <(/usr/bin/python3 -c '
import socket
ss=[socket.socket() for _ in range(2)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(*[s.getsockname()[1] for s in ss])')
cleanup() {
  for p in slurmd slurmctld munged; do
    [ -f "$D/$p.pid" ] && kill "$(cat "$D/$p.pid")" 2>/dev/null || true
  done
  sleep 1
  if [ "${KEEP_SLURM_DIR:-0}" != 1 ]; then rm -rf "$D"; else echo "slurm dir kept: $D" >&2; fi
}
trap cleanup EXIT

mkdir -p "$D/state" "$D/spool" "$D/munge"
chmod 700 "$D/munge"
dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$D/munge/munge.key"
munged --force --socket="$D/munge/munge.sock" --key-file="$D/munge/munge.key" \
  --pid-file="$D/munged.pid" --log-file="$D/munged.log" --seed-file="$D/munge/seed"

CPUS="$(nproc)"
MEM_MB="$(awk '/MemTotal/ {print int($2/1024/2)}' /proc/meminfo)"
cat > "$D/slurm.conf" <<CONF
ClusterName=cardsim-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTL_PORT
SlurmdPort=$NODE_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MaxArraySize=10001
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$D/slurm.conf"
slurmctld -f "$SLURM_CONF" -i
slurmd -f "$SLURM_CONF"
# Wait for the node to be idle (bounded).
for i in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -q idle; then break; fi
  sleep 0.5
done
if ! sinfo -h -o %T | grep -q idle; then
  echo "slurm_localhost.sh: node did not come up; logs:" >&2
  tail -20 "$D/slurmctld.log" "$D/slurmd.log" >&2 || true
  exit 2
fi
"$@"
