#!/usr/bin/env python3
"""Optional peer timings for kiln-bench: the workloads of ../shared/WORKLOADS.md (W1-W6, W8 and
W9-10/100/1000; not the training rows W7 and W10) in torch eager, torch.compile (Inductor, mode
"default" and "max-autotune") and jax.jit, at one thread count, printed as one JSON object on
stdout (progress, failures and warnings go to stderr).

    python3 perf/peers.py --threads N --budget SECONDS [--filter W1,W3]
                          [--peers torch,torch_compile,torch_compile_max,jax]

kiln never needs this script, torch or JAX to build or test. A peer that does not import is
reported as null with the reason under "absent"; a peer that fails on one workload gets null in
that cell and a one-line reason on stderr. Inputs mirror perf/workloads.cpp (shapes, float32,
weights and biases scaled by 1/sqrt(fan_in), layer_norm weights 1 and biases 0 in W8) but come
from numpy's generator, not kiln's, so the values differ; the torch functions mirror
perf/libtorch_baseline.cpp. Every peer's first output is checked against a float64 numpy
reference (relative tolerance 1e-3 of the output's largest magnitude).
"""
import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import types

PEERS = ["torch", "torch_compile", "torch_compile_max", "jax"]
COLUMNS = {"torch": "torch_eager_ms", "torch_compile": "torch_compile_ms",
           "torch_compile_max": "torch_compile_max_ms", "jax": "jax_jit_ms"}
COLD_COLUMNS = {"torch_compile": "torch_compile_cold_ms", "jax": "jax_jit_cold_ms"}
TOLERANCE = 1e-3


def log(*args):
    print("peers:", *args, file=sys.stderr, flush=True)


def one_line(e):
    text = (str(e).strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {text}"[:300]


def limit_threads(n):
    """Restricts everything in this process to n threads; must run before numpy, torch or jax
    are imported. torch: OMP/MKL_NUM_THREADS and, once imported, torch.set_num_threads(n).
    XLA has no flag for its thread-pool size (intra_op_parallelism_threads is a TensorFlow
    option, not an XLA flag, and XLA aborts on it); its pool is as large as the CPU affinity
    mask, so the process pins itself to the first n CPUs it may use (os.sched_setaffinity, what
    taskset would do, done here so that the caller needs nothing), and for n = 1 also sets
    --xla_cpu_multi_thread_eigen=false as WORKLOADS.md says. Measured here (2 cores): a
    2048^2 jax matmul takes 59 ms unpinned, 118 ms pinned to one CPU, and the eigen flag alone
    still leaves it on 2 threads. OMP_WAIT_POLICY=PASSIVE (unless set) as kiln-bench's tuned
    libtorch: spinning OpenMP workers would slow whatever runs next. Inductor compiles with n
    worker threads."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "TORCHINDUCTOR_COMPILE_THREADS"):
        os.environ[var] = str(n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    cpus = sorted(os.sched_getaffinity(0))
    if n < len(cpus):
        os.sched_setaffinity(0, cpus[:n])
    elif n > len(cpus):
        log(f"warning: {n} threads asked for, this process may use only {len(cpus)} CPUs")
    if n == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()


# --- inputs, as perf/workloads.cpp makes them ------------------------------------------------

def make_inputs(wid, rng):
    import numpy as np

    def randn(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    def weight(out, fan_in):
        return randn(out, fan_in) / np.float32(math.sqrt(fan_in))

    def bias(out, fan_in):
        return randn(out) / np.float32(math.sqrt(fan_in))

    if wid == "W1":
        return [randn(16777216) for _ in range(3)]
    if wid == "W2":
        return [randn(4096, 1024)]
    if wid == "W3":
        return [randn(8192, 1024), randn(8192, 1024), randn(1024), randn(1024)]
    if wid == "W4":
        return [randn(512, 1024), weight(4096, 1024), bias(4096, 1024), weight(1024, 4096),
                bias(1024, 4096)]
    if wid == "W5":
        return [randn(64, 5), weight(10, 5), bias(10, 5), weight(1, 10), bias(1, 10)]
    if wid == "W6":
        return [randn(8, 256, 64) for _ in range(3)]
    if wid == "W8":
        inputs = [randn(8, 128, 256)]
        for _ in range(4):  # q, k, v, o projections
            inputs += [weight(256, 256), bias(256, 256)]
        for _ in range(2):  # the two layer_norms
            inputs += [np.ones(256, np.float32), np.zeros(256, np.float32)]
        return inputs + [weight(1024, 256), bias(1024, 256), weight(256, 1024), bias(256, 1024)]
    return [randn(1 << 20)]  # W9-n


# --- the workloads for numpy (the reference) and jax: m is NUMPY or JAX below ----------------

def a_linear(x, w, b):
    return x @ w.T + b


def a_layer_norm(m, x, w, b, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / m.np.sqrt(var + eps) * w + b


def a_transformer_block(m, x, *p):
    def heads(t):
        return t.reshape(8, 128, 8, 32).transpose(0, 2, 1, 3)

    p = (None,) + p  # p[i] is workloads.cpp's in[i]
    z = a_layer_norm(m, x, p[9], p[10])
    q, k, v = (heads(a_linear(z, p[i], p[i + 1])) for i in (1, 3, 5))
    s = m.softmax(q @ m.np.swapaxes(k, -2, -1) / math.sqrt(32.0), axis=-1)
    o = (s @ v).transpose(0, 2, 1, 3).reshape(8, 128, 256)
    h = x + a_linear(o, p[7], p[8])
    z = a_layer_norm(m, h, p[11], p[12])
    return h + a_linear(m.gelu(a_linear(z, p[13], p[14])), p[15], p[16])


def a_chain(m, x, n):
    ops = (lambda x: x + 0.5, lambda x: x * 0.9, m.np.tanh, m.sigmoid)
    for i in range(n):
        x = ops[i % 4](x)
    return x


ARRAY_FNS = {
    "W1": lambda m, x, a, b: m.gelu(x * a + b) * m.sigmoid(x) + m.np.tanh(x) * 0.5,
    "W2": lambda m, x: m.softmax(x, axis=-1),
    "W3": lambda m, x, r, w, b: a_layer_norm(m, x + r, w, b),
    "W4": lambda m, x, w1, b1, w2, b2: a_linear(m.gelu(a_linear(x, w1, b1)), w2, b2),
    "W5": lambda m, x, w1, b1, w2, b2: a_linear(m.np.maximum(a_linear(x, w1, b1), 0), w2, b2),
    "W6": lambda m, q, k, v: m.softmax(q @ m.np.swapaxes(k, 1, 2) / 8.0, axis=-1) @ v,
    "W8": a_transformer_block,
}


def numpy_namespace():
    import numpy as np

    # numpy has no erf: scipy's, else torch's in float64, else math.erf per element (slow on
    # W1's 16M elements, but neither scipy nor torch is required).
    try:
        from scipy.special import erf
    except ImportError:
        try:
            import torch

            def erf(x):
                return torch.special.erf(torch.from_numpy(np.asarray(x, np.float64))).numpy()
        except ImportError:
            erf = np.vectorize(math.erf, otypes=[np.float64])

    def softmax(x, axis):
        e = np.exp(x - x.max(axis, keepdims=True))
        return e / e.sum(axis, keepdims=True)

    return types.SimpleNamespace(np=np, gelu=lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2))),
                                 sigmoid=lambda x: 1 / (1 + np.exp(-x)), softmax=softmax)


def jax_namespace(jax):
    return types.SimpleNamespace(np=jax.numpy, gelu=lambda x: jax.nn.gelu(x, approximate=False),
                                 sigmoid=jax.nn.sigmoid, softmax=jax.nn.softmax)


def array_fn(wid):
    if wid.startswith("W9-"):
        n = int(wid[3:])
        return lambda m, x: a_chain(m, x, n)
    return ARRAY_FNS[wid]


# --- the workloads in torch, as perf/libtorch_baseline.cpp writes them -----------------------

def torch_fn(wid, torch):
    F = torch.nn.functional
    if wid == "W1":
        return lambda x, a, b: F.gelu(x * a + b) * torch.sigmoid(x) + torch.tanh(x) * 0.5
    if wid == "W2":
        return lambda x: torch.softmax(x, -1)
    if wid == "W3":
        return lambda x, r, w, b: F.layer_norm(x + r, [1024], w, b)
    if wid == "W4":
        return lambda x, w1, b1, w2, b2: F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2)
    if wid == "W5":
        return lambda x, w1, b1, w2, b2: F.linear(torch.relu(F.linear(x, w1, b1)), w2, b2)
    if wid == "W6":
        return lambda q, k, v: torch.matmul(torch.softmax(q @ k.transpose(1, 2) / 8, -1), v)
    if wid == "W8":
        def block(x, *p):
            def heads(t):
                return t.reshape(8, 128, 8, 32).permute(0, 2, 1, 3)

            p = (None,) + p  # p[i] is libtorch_baseline.cpp's in[i]
            z = F.layer_norm(x, [256], p[9], p[10])
            q, k, v = (heads(F.linear(z, p[i], p[i + 1])) for i in (1, 3, 5))
            s = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(32.0), -1)
            o = (s @ v).permute(0, 2, 1, 3).reshape(8, 128, 256)
            h = x + F.linear(o, p[7], p[8])
            z = F.layer_norm(h, [256], p[11], p[12])
            return h + F.linear(F.gelu(F.linear(z, p[13], p[14])), p[15], p[16])
        return block
    n = int(wid[3:])  # W9-n
    ops = (lambda x: x + 0.5, lambda x: x * 0.9, torch.tanh, torch.sigmoid)

    def chain(x):
        for i in range(n):
            x = ops[i % 4](x)
        return x
    return chain


# --- timing -----------------------------------------------------------------------------------

def measure(call, budget):
    """Runs call() (which waits for its result) once cold and once more to warm up, then
    repeatedly until budget seconds are spent, at least 3 times. Returns (first output,
    cold ms, median ms, runs)."""
    t0 = time.perf_counter()
    out = call()
    cold = (time.perf_counter() - t0) * 1e3
    call()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1e3)
    return out, cold, statistics.median(times), len(times)


def check(wid, peer, out, ref):
    import numpy as np
    out = np.asarray(out, dtype=np.float64)
    if out.shape != ref.shape:
        log(f"warning: {wid} {peer}: output shape {out.shape}, expected {ref.shape}")
        return
    scale = max(float(np.abs(ref).max()), 1e-30)
    err = float(np.abs(out - ref).max()) / scale if out.size else 0.0
    if not err <= TOLERANCE:  # also catches NaN
        log(f"warning: {wid} {peer}: output differs from the numpy reference: max error "
            f"{err:.2e} of the largest magnitude {scale:.3g} (tolerance {TOLERANCE:g})")


def run_torch(wid, peer, torch, inputs, budget):
    fn = torch_fn(wid, torch)
    args = [torch.from_numpy(a.copy()) for a in inputs]
    if peer != "torch":
        torch._dynamo.reset()  # each compile starts cold, not from the previous mode's cache
        # On the CPU "max-autotune" is "max-autotune-no-cudagraphs" (WORKLOADS.md). It adds C++
        # GEMM templates only for bmm (W6 here): for mm they need constant weights (parameters
        # and inductor's freezing), and here, as in kiln and libtorch_baseline.cpp, the
        # weights are inputs, so mm keeps ATen's kernel as its only choice.
        fn = torch.compile(fn, mode="default" if peer == "torch_compile" else "max-autotune")

    def call():
        with torch.no_grad():
            return fn(*args)
    out, cold, median, runs = measure(call, budget)
    return out.numpy(), cold, median, runs


def run_jax(wid, jax, inputs, budget):
    m = jax_namespace(jax)
    body = array_fn(wid)
    fn = jax.jit(lambda *a: body(m, *a))
    args = [jax.device_put(a) for a in inputs]
    out, cold, median, runs = measure(lambda: fn(*args).block_until_ready(), budget)
    return jax.device_get(out), cold, median, runs


# --- the peers' modules -----------------------------------------------------------------------

def import_torch(threads):
    import torch
    torch.set_num_threads(threads)
    import torch._dynamo  # noqa: F401  (torch.compile's front end)
    return torch


def prime_torch_compile(torch):
    """One throw-away compile, so that Inductor's one-time start-up (its caches, the host's
    compiler probes) is not charged to the first workload's cold time."""
    f = torch.compile(lambda x: torch.tanh(x) + 1)
    f(torch.ones(16))
    torch._dynamo.reset()


def prime_jax(jax):
    jax.jit(lambda x: jax.numpy.tanh(x) + 1)(jax.numpy.ones(16)).block_until_ready()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per measurement")
    parser.add_argument("--filter", default="", help="workload ids, e.g. W1,W3 (W9: all W9-n)")
    parser.add_argument("--peers", default=",".join(PEERS), help=",".join(PEERS))
    opt = parser.parse_args()
    peers = [p for p in opt.peers.split(",") if p]
    if opt.threads < 1 or any(p not in PEERS for p in peers):
        parser.error(f"--threads must be >= 1 and --peers a subset of {','.join(PEERS)}")
    limit_threads(opt.threads)

    # Everything below writes to stderr, even C code and compilers writing to fd 1; the JSON
    # goes to the original stdout at the end.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    all_ids = ["W1", "W2", "W3", "W4", "W5", "W6", "W8", "W9-10", "W9-100", "W9-1000"]
    wanted = [w for w in opt.filter.split(",") if w]
    ids = [i for i in all_ids
           if not wanted or i in wanted or (i.startswith("W9-") and "W9" in wanted)]
    for w in wanted:
        if w not in all_ids and w != "W9":
            log(f"warning: --filter {w}: not a workload this script times (W7, W10: training)")

    cells = dict.fromkeys(list(COLUMNS.values()) + list(COLD_COLUMNS.values()))
    result = {"threads": opt.threads, "versions": {"torch": None, "jax": None},
              "absent": {"torch": None, "jax": None},
              "workloads": {i: dict(cells) for i in ids}}
    cache_dir = tempfile.mkdtemp(prefix="kiln-peers-inductor-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache_dir  # fresh: cold times include compiling
    try:
        torch = jax = None
        if any(p.startswith("torch") for p in peers):
            try:
                torch = import_torch(opt.threads)
                result["versions"]["torch"] = torch.__version__
            except Exception as e:
                result["absent"]["torch"] = one_line(e)
        else:
            result["absent"]["torch"] = "not requested (--peers)"
        if "jax" in peers:
            try:
                import jax
                result["versions"]["jax"] = jax.__version__
            except Exception as e:
                result["absent"]["jax"] = one_line(e)
        else:
            result["absent"]["jax"] = "not requested (--peers)"
        for name, why in result["absent"].items():
            if why:
                log(f"{name} absent: {why}")
        active = [p for p in peers if (torch if p.startswith("torch") else jax) is not None]
        for prime, needed in ((prime_torch_compile, {"torch_compile", "torch_compile_max"}),
                              (prime_jax, {"jax"})):
            if needed & set(active):
                try:
                    prime(torch if prime is prime_torch_compile else jax)
                except Exception as e:
                    log(f"warning: priming {prime.__name__[6:]} failed: {one_line(e)}")

        import numpy as np
        log(f"{opt.threads} thread(s), budget {opt.budget} s, peers {','.join(active) or 'none'}, "
            f"CPUs {sorted(os.sched_getaffinity(0))}")
        reference = numpy_namespace()
        for wid in ids:
            if not active:
                break
            inputs = make_inputs(wid, np.random.default_rng(0))
            ref = np.asarray(array_fn(wid)(reference, *[a.astype(np.float64) for a in inputs]))
            row = result["workloads"][wid]
            for peer in active:
                log(f"{wid} {peer} ...")
                try:
                    if peer == "jax":
                        out, cold, median, runs = run_jax(wid, jax, inputs, opt.budget)
                    else:
                        out, cold, median, runs = run_torch(wid, peer, torch, inputs, opt.budget)
                except Exception as e:
                    log(f"{wid} {peer}: failed: {one_line(e)}")
                    continue
                check(wid, peer, out, ref)
                row[COLUMNS[peer]] = round(median, 4)
                if peer in COLD_COLUMNS:
                    row[COLD_COLUMNS[peer]] = round(cold, 3)
                log(f"{wid} {peer}: median {median:.3f} ms of {runs} runs, "
                    f"first call {cold:.1f} ms")
    except BaseException as e:  # report what was measured whatever happens
        log(f"stopped early: {one_line(e)}")
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
        json_out.write(json.dumps(result) + "\n")
        json_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
