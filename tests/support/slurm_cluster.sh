#!/usr/bin/env bash
# A one-node Slurm cluster on loopback for tests, in its own folder with its own munge key and
# ports, touching nothing in /etc:
#   tests/support/slurm_cluster.sh start DIR   -> prints "export SLURM_CONF=DIR/slurm.conf"
#   tests/support/slurm_cluster.sh stop DIR
# Needs Debian's slurmctld, slurmd, slurm-client and munge (scripts/test installs them). Exit status
# 3 with the reason on stderr when they are missing or the daemons do not come up: the caller
# reports the test as skipped.
set -uo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)

stop() {
  for f in slurmd slurmctld munged; do
    [ -f "$dir/$f.pid" ] && kill "$(cat "$dir/$f.pid")" 2>/dev/null
  done
  for _ in $(seq 1 20); do
    alive=0
    for f in slurmd slurmctld munged; do
      [ -f "$dir/$f.pid" ] && kill -0 "$(cat "$dir/$f.pid")" 2>/dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.5
  done
  for f in slurmd slurmctld munged; do
    [ -f "$dir/$f.pid" ] && kill -9 "$(cat "$dir/$f.pid")" 2>/dev/null
    rm -f "$dir/$f.pid"
  done
  return 0
}

if [ "$cmd" = stop ]; then stop; exit 0; fi

for b in munged slurmctld slurmd sbatch scontrol squeue; do
  command -v "$b" >/dev/null || { echo "slurm_cluster: $b not found (install slurmctld slurmd slurm-client munge)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "slurm_cluster: needs root to run slurmd" >&2; exit 3; }

host=$(hostname -s)
base=$(( 20000 + ($$ % 2000) * 2 ))
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
cat > "$dir/slurm.conf" <<CONF
ClusterName=wbtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=20
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=wbtest Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
CONF
head -c 1024 /dev/urandom > "$dir/munge.key"; chmod 400 "$dir/munge.key"
munged --force --socket="$dir/munge.sock" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge.seed" || { echo "slurm_cluster: munged did not start" >&2; exit 3; }
export SLURM_CONF=$dir/slurm.conf
slurmctld -i || { echo "slurm_cluster: slurmctld did not start (see $dir/log)" >&2; stop; exit 3; }
slurmd || { echo "slurm_cluster: slurmd did not start (see $dir/log)" >&2; stop; exit 3; }
for _ in $(seq 1 30); do
  if sinfo -h -o %T 2>/dev/null | grep -q idle; then echo "export SLURM_CONF=$dir/slurm.conf"; exit 0; fi
  sleep 1
done
echo "slurm_cluster: the node did not become idle within 30 s (see $dir/log)" >&2
stop
exit 3
