"""Integration checks of the distributed runtime with real processes on 127.0.0.1.

usage: check_cluster.py CASE CUBIST CLUSTER_COMPUTE WORKDIR [NDVI_WORKDIR CATCHMENT SOURCE_DIR]

Each case starts `cubist scheduler` and two `cubist worker` processes (any free ports, a token
file in WORKDIR) and always stops them again, even when the check fails or is killed (the
children die with this script: PR_SET_PDEATHSIG).
  api            graphs computed through execute_remote and DataArray::compute(scheduler) equal the
                 local runtime's, bit for bit
  wrong_token    a worker and a client with the wrong token are refused with one clear error and a
                 non-zero exit; the cluster keeps working for the right token
  killed_worker  kill -9 of a worker under a running job: the job fails with one error naming it
  openeo         `cubist run --scheduler` of the seed openEO graph (saving ZARR) on the demo data
                 writes the same store, file for file, as the local run
Run with Debian's /usr/bin/python3.
"""
import ctypes
import filecmp
import os
import re
import shutil
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Cluster:
    """A scheduler and two workers; stop() kills whatever is still running."""

    def __init__(self, cubist, workdir, peer_timeout=3):
        self.cubist, self.workdir, self.procs = cubist, workdir, []
        os.makedirs(workdir, exist_ok=True)
        self.token_file = os.path.join(workdir, "token")
        address_file = os.path.join(workdir, "address")
        for f in (self.token_file, address_file):
            if os.path.exists(f):
                os.remove(f)
        self.scheduler_log = os.path.join(workdir, "scheduler.log")
        self.scheduler = self.start([cubist, "scheduler", "--listen", "tcp://127.0.0.1:0", "--token-file",
                                     self.token_file, "--address-file", address_file, "--peer-timeout",
                                     str(peer_timeout)], self.scheduler_log)
        self.address = self.wait_for(lambda: os.path.exists(address_file) and open(address_file).read().strip(),
                                     "the scheduler's address file")
        if os.stat(self.token_file).st_mode & 0o077:
            fail(f"token file {self.token_file} is readable by others: mode {oct(os.stat(self.token_file).st_mode)}")
        self.workers = [self.start([cubist, "worker", self.address, "--token-file", self.token_file, "--threads", "2",
                                    "--name", f"w{i}"], os.path.join(workdir, f"worker{i}.log")) for i in range(2)]
        self.wait_for(lambda: open(self.scheduler_log).read().count(" joined ") >= 2, "two workers to join")

    def start(self, argv, log):
        p = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self.procs.append(p)
        return p

    def wait_for(self, predicate, what, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            if self.scheduler.poll() is not None:
                fail(f"the scheduler exited ({self.scheduler.returncode}) while waiting for {what}: "
                     f"{open(self.scheduler_log).read()}")
            time.sleep(0.05)
        fail(f"timed out waiting for {what}")

    def stop(self):
        """SIGTERM to everything still running; returns the cluster processes that did not stop
        cleanly (exit 0) on it."""
        running = [p for p in self.procs if p.poll() is None]
        for p in running:
            p.send_signal(signal.SIGTERM)
        unclean = []
        for p in running:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.returncode != 0 and p in [self.scheduler] + self.workers:
                unclean.append(f"{p.args[1]} exit {p.returncode}")
        return unclean


def run(argv, timeout=600):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, preexec_fn=die_with_parent)


def case_api(cluster, compute):
    r = run([compute, cluster.address, cluster.token_file, "check"])
    print(r.stdout, end="")
    if r.returncode != 0:
        fail(f"cluster_compute check: exit {r.returncode}: {r.stderr.strip()}")
    if r.stdout.count("identical") != 5:
        fail("not every case was compared")


def case_wrong_token(cluster, compute):
    wrong = os.path.join(cluster.workdir, "wrong-token")
    with open(wrong, "w") as f:
        f.write("f" * 64 + "\n")
    r = run([cluster.cubist, "worker", cluster.address, "--token-file", wrong, "--name", "intruder"], timeout=60)
    lines = [l for l in r.stderr.splitlines() if "error" in l]
    if r.returncode == 0 or len(lines) != 1 or "authentication failed: wrong cluster token" not in lines[0]:
        fail(f"worker with a wrong token: exit {r.returncode}, stderr {r.stderr!r}")
    print("worker refused:", lines[0])
    r = run([compute, cluster.address, wrong, "check"], timeout=60)
    if r.returncode == 0 or "authentication failed: wrong cluster token" not in r.stderr:
        fail(f"client with a wrong token: exit {r.returncode}, stderr {r.stderr!r}")
    print("client refused:", r.stderr.strip())
    case_api(cluster, compute)  # the cluster still serves the right token


def case_killed_worker(cluster, compute):
    job = subprocess.Popen([compute, cluster.address, cluster.token_file, "long"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
    cluster.procs.append(job)
    victim_log = os.path.join(cluster.workdir, "worker1.log")
    # Kill worker w1 once units run (the scheduler gives both workers work at once).
    time.sleep(1.5)
    if job.poll() is not None:
        fail(f"the long job ended before a worker could be killed: {job.communicate()}")
    cluster.workers[1].kill()
    cluster.workers[1].wait()
    out, err = job.communicate(timeout=120)
    if job.returncode == 0:
        fail(f"the job succeeded although worker w1 was killed: {out}")
    m = re.search(r"cluster_compute: error: (.*)", err)
    if not m or not re.search(r"worker w1 \(tcp://127\.0\.0\.1:\d+\) left: no heartbeat for 3 s", m.group(1)):
        fail(f"unclear error after killing worker w1: {err!r} ({open(victim_log).read()})")
    print("killed worker reported:", m.group(1))
    if cluster.scheduler.poll() is not None:
        fail("the scheduler died")


def zarr_files(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


def case_openeo(cluster, ndvi_work, catchment, source):
    sys.path.insert(0, os.path.join(source, "tests", "integration", "openeo"))
    from openeo_fixture import demo_stac_api, seed_graph, with_filter_spatial, write_graph
    graph = write_graph(with_filter_spatial(seed_graph(source, catchment)), os.path.join(cluster.workdir, "seed.json"))
    local, remote = os.path.join(cluster.workdir, "local.zarr"), os.path.join(cluster.workdir, "cluster.zarr")
    for d in (local, remote):
        shutil.rmtree(d, ignore_errors=True)
    with demo_stac_api(cluster.cubist, ndvi_work, catchment) as url:
        for out, extra in ((local, ["--workers", "2"]), (remote, ["--scheduler", cluster.address])):
            env = dict(os.environ, CUBIST_TOKEN=open(cluster.token_file).read().strip())
            t0 = time.time()
            r = subprocess.run([cluster.cubist, "run", graph, "--output", out, "--param",
                                f"stac_collection_url={url}/collections/sentinel-2-l2a"] + extra,
                               capture_output=True, text=True, timeout=600, env=env, preexec_fn=die_with_parent)
            if r.returncode != 0:
                fail(f"cubist run {' '.join(extra)}: exit {r.returncode}: {r.stderr.strip()}")
            print(f"cubist run {' '.join(extra)}: {time.time() - t0:.2f} s")
    files = zarr_files(local)
    if files != zarr_files(remote):
        fail(f"the stores hold different files: {sorted(set(files) ^ set(zarr_files(remote)))}")
    _, mismatch, errors = filecmp.cmpfiles(local, remote, files, shallow=False)
    if mismatch or errors:
        fail(f"files differ between the local and the cluster run: {(mismatch + errors)[:10]}")
    print(f"{len(files)} files identical")


def main():
    case, cubist, compute, workdir = sys.argv[1:5]
    cluster = Cluster(cubist, os.path.join(workdir, case))
    try:
        if case == "api":
            case_api(cluster, compute)
        elif case == "wrong_token":
            case_wrong_token(cluster, compute)
        elif case == "killed_worker":
            case_killed_worker(cluster, compute)
        elif case == "openeo":
            case_openeo(cluster, *sys.argv[5:8])
        else:
            fail(f"unknown case {case}")
    finally:
        unclean = cluster.stop()
    if unclean:
        fail(f"not stopped cleanly by SIGTERM: {unclean} (logs in {cluster.workdir})")
    print("OK")


if __name__ == "__main__":
    main()
