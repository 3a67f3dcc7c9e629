"""A fake SLURM for tests: sbatch, squeue, sacct, scontrol, sacctmgr, sshare, sinfo, srun, scancel.

Answers exactly what snakemake-executor-plugin-slurm 2.8.0 (and its jobstep plugin 0.6.1) ask:

- ``sbatch --parsable ... [--array=a-b] --wrap="CMD"`` (or a script on stdin / as a file): runs
  the job at once, synchronously, locally (``sh -c CMD`` in ``-D`` with SLURM_* variables set,
  output to ``--output`` with %j/%A/%a filled in), records COMPLETED or FAILED and prints the job
  id. An array runs its tasks one after another with SLURM_ARRAY_TASK_ID etc.
- ``sacct -X --parsable2 --noheader --format=JobIdRaw,State --name RUN`` and
  ``squeue --format=%i|%T --noheader --name RUN``: ``id|STATE`` lines (``id_task`` for arrays);
  ``sacct -j ID.step --format=Reason``: nothing; ``sacct -nu USER -o Account``: the first account.
- ``scontrol show config``: MinJobAge and MaxArraySize; ``sinfo -o %P``: the partitions
  (default marked ``*``); ``sacctmgr``/``sshare``: the accounts.
- ``srun [options] CMD...``: runs CMD.

Environment: FAKE_SLURM_DIR (state; required), FAKE_SLURM_LOG (JSON lines of every call's argv;
default $FAKE_SLURM_DIR/calls.jsonl), FAKE_SLURM_ACCOUNTS (comma list, default ``fakeacct``),
FAKE_SLURM_PARTITIONS (comma list, first is the default, default ``fakepart``).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ.get("FAKE_SLURM_DIR", "/tmp/fake_slurm"))
LOG = Path(os.environ.get("FAKE_SLURM_LOG", str(STATE / "calls.jsonl")))
ACCOUNTS = [a for a in os.environ.get("FAKE_SLURM_ACCOUNTS", "fakeacct").split(",") if a]
PARTITIONS = [p for p in os.environ.get("FAKE_SLURM_PARTITIONS", "fakepart").split(",") if p]

# sbatch/srun options that take no value
FLAGS = {"--parsable", "--requeue", "--no-requeue", "--exclusive", "-Q", "--quiet"}


def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    fcntl.flock(fh, fcntl.LOCK_EX)
    return fh


def log_call(cmd: str, argv: list[str], **extra) -> None:
    with _locked(LOG) as fh:
        fh.write(json.dumps({"cmd": cmd, "argv": argv, "time": time.time(), **extra}) + "\n")


def parse_options(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """Options (``--key=value``, ``--key value``, ``-k value``, ``-kvalue``) up to the first
    positional argument; returns (options, the rest)."""
    opts: dict[str, str] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("-") or a == "-":
            break
        if a in FLAGS:
            opts[a] = ""
        elif a.startswith("--") and "=" in a:
            k, v = a.split("=", 1)
            opts[k] = v
        elif a.startswith("--"):
            opts[a] = argv[i + 1]
            i += 1
        elif len(a) > 2:  # -n1
            opts[a[:2]] = a[2:]
        else:
            opts[a] = argv[i + 1]
            i += 1
        i += 1
    return opts, argv[i:]


def _jobs_file() -> Path:
    return STATE / "jobs.json"


def _update_jobs(fn):
    with _locked(STATE / "jobs.lock"):
        path = _jobs_file()
        jobs = json.loads(path.read_text()) if path.exists() else {"next_id": 1001, "jobs": {}}
        result = fn(jobs)
        path.write_text(json.dumps(jobs, indent=1))
    return result


def _read_jobs() -> dict:
    with _locked(STATE / "jobs.lock"):
        path = _jobs_file()
        return json.loads(path.read_text()) if path.exists() else {"next_id": 1001, "jobs": {}}


def _run_task(script: str, opts: dict, env: dict, logfile: str | None, workdir: str) -> int:
    out = open(logfile, "ab") if logfile else subprocess.DEVNULL
    try:
        return subprocess.run(["sh", "-c", script], cwd=workdir, env=env, stdout=out, stderr=out).returncode
    finally:
        if logfile:
            out.close()


def sbatch(argv: list[str]) -> int:
    opts, rest = parse_options(argv)
    if "--wrap" in opts:
        script = opts["--wrap"]
    elif rest and rest[0] != "/dev/stdin":
        script = Path(rest[0]).read_text()
    else:
        script = sys.stdin.read()
    name = opts.get("--job-name", opts.get("-J", "sbatch"))
    workdir = opts.get("-D", opts.get("--chdir", os.getcwd()))
    array = opts.get("--array")
    tasks = [None]
    if array:
        lo, hi = (int(x) for x in array.split("%")[0].split("-"))
        tasks = list(range(lo, hi + 1))

    def new_job(jobs):
        jid = jobs["next_id"]
        jobs["next_id"] += 1
        ids = [str(jid)] if array is None else [f"{jid}_{t}" for t in tasks]
        for i in ids:
            jobs["jobs"][i] = {"name": name, "state": "RUNNING", "comment": opts.get("--comment", "")}
        return jid

    jid = _update_jobs(new_job)
    log_call("sbatch", argv, jobid=str(jid), options=opts, script=script)

    for task in tasks:
        env = dict(os.environ)
        env.update(
            SLURM_JOB_ID=str(jid),
            SLURM_JOBID=str(jid),
            SLURM_JOB_NAME=name,
            SLURM_CPUS_PER_TASK=opts.get("--cpus-per-task", opts.get("-c", "1")),
            SLURM_SUBMIT_DIR=os.getcwd(),
            SLURM_CLUSTER_NAME="fake",
            SLURM_JOB_PARTITION=opts.get("-p", opts.get("--partition", PARTITIONS[0])),
        )
        if "--mem" in opts:
            env["SLURM_MEM_PER_NODE"] = opts["--mem"]
        if "--gres" in opts or "--gpus" in opts:
            env["SLURM_GPUS"] = opts.get("--gpus", opts.get("--gres", ""))
        logfile = opts.get("--output", opts.get("-o"))
        key = str(jid)
        if task is not None:
            key = f"{jid}_{task}"
            env.update(
                SLURM_ARRAY_JOB_ID=str(jid),
                SLURM_ARRAY_TASK_ID=str(task),
                SLURM_ARRAY_TASK_MIN=str(tasks[0]),
                SLURM_ARRAY_TASK_MAX=str(tasks[-1]),
                SLURM_ARRAY_TASK_STEP="1",
            )
        if logfile:
            logfile = logfile.replace("%j", str(jid)).replace("%A", str(jid))
            logfile = logfile.replace("%a", str(task) if task is not None else "")
            Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        rc = _run_task(script, opts, env, logfile, workdir)
        state = "COMPLETED" if rc == 0 else "FAILED"

        def finish(jobs, key=key, state=state, rc=rc):
            jobs["jobs"][key]["state"] = state
            jobs["jobs"][key]["exit_code"] = rc

        _update_jobs(finish)
    # --parsable: "<jobid>" (a multi-cluster setup would print "<jobid>;<cluster>")
    print(jid if "--parsable" in opts else f"Submitted batch job {jid}")
    return 0


def _status_lines(name: str | None) -> list[str]:
    jobs = _read_jobs()["jobs"]
    return [f"{jid}|{j['state']}" for jid, j in jobs.items() if name is None or j["name"] == name]


def sacct(argv: list[str]) -> int:
    log_call("sacct", argv)
    opts, _ = parse_options(argv)
    fmt = opts.get("--format", opts.get("-o", "")).lower()
    if "account" in fmt:  # account guess: sacct -nu USER -o Account%256
        print(ACCOUNTS[0] if ACCOUNTS else "")
        return 0
    if "reason" in fmt or "nodelist" in fmt:  # failure reason / node of a job step
        print("")
        return 0
    for line in _status_lines(opts.get("--name")):
        print(line)
    return 0


def squeue(argv: list[str]) -> int:
    log_call("squeue", argv)
    opts, _ = parse_options(argv)
    for line in _status_lines(opts.get("--name")):
        print(line)
    return 0


def scontrol(argv: list[str]) -> int:
    log_call("scontrol", argv)
    if argv[:2] == ["show", "config"]:
        print("Configuration data as of fake\nMaxArraySize            = 1001\nMinJobAge               = 300 sec")
    return 0


def sacctmgr(argv: list[str]) -> int:
    log_call("sacctmgr", argv)
    for a in ACCOUNTS:
        print(f"{a:>20}")
    return 0


def sshare(argv: list[str]) -> int:
    log_call("sshare", argv)
    for a in ACCOUNTS:
        print(a)
    return 0


def sinfo(argv: list[str]) -> int:
    log_call("sinfo", argv)
    print("PARTITION")
    for i, p in enumerate(PARTITIONS):
        print(p + ("*" if i == 0 else ""))
    return 0


def scancel(argv: list[str]) -> int:
    log_call("scancel", argv)
    return 0


def srun(argv: list[str]) -> int:
    opts, cmd = parse_options(argv)
    log_call("srun", argv, options=opts, jobid=os.environ.get("SLURM_JOB_ID"))
    if not cmd:
        return 1
    return subprocess.run(cmd).returncode  # `sh -s` (script on stdin) inherits our stdin


COMMANDS = {f.__name__: f for f in (sbatch, sacct, squeue, scontrol, sacctmgr, sshare, sinfo, scancel, srun)}

if __name__ == "__main__":
    STATE.mkdir(parents=True, exist_ok=True)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
