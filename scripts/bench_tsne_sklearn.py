#!/usr/bin/python3
"""scikit-learn's Barnes-Hut t-SNE on the benchmark data of docs/analysis/tsne.md.

  /usr/bin/python3 scripts/bench_tsne_sklearn.py make-data /tmp/tsne_bench_x.npy
      writes 10 000 x 512 float32 points in 10 Gaussian clusters (seed 0) and their labels
      (/tmp/tsne_bench_x.labels.npy); merc's benchmark (benchmarks/tsne_bench.cpp) reads the same file.
  /usr/bin/python3 scripts/bench_tsne_sklearn.py run /tmp/tsne_bench_x.npy --threads 1 --iterations 1000
      runs sklearn.manifold.TSNE (Barnes-Hut, theta 0.5, perplexity 30, PCA init, learning rate
      'auto', seed 0) and prints one JSON line: threads, wall and CPU seconds, final KL, iterations.

Threads are fixed through the environment before numpy is imported (OpenMP for the gradient,
OpenBLAS for the neighbour search and PCA), so the whole fit uses at most --threads cores.
"""
import argparse
import json
import os
import sys
import time


def make_data(path, n=10000, dim=512, clusters=10, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    # Unit-variance noise around centres drawn with std 0.5 per coordinate: centres are about
    # 16 apart and points about 32 from each other inside a cluster, so the clusters are distinct
    # in 512-d yet overlap in every single coordinate (as learned representations do).
    centres = rng.normal(0.0, 0.5, size=(clusters, dim))
    labels = rng.integers(0, clusters, size=n)
    x = (centres[labels] + rng.normal(0.0, 1.0, size=(n, dim))).astype(np.float32)
    np.save(path, x)
    np.save(path.replace(".npy", ".labels.npy"), labels.astype(np.int64))


def run(path, threads, iterations, perplexity, theta, seed):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import numpy as np
    from sklearn.manifold import TSNE
    x = np.load(path)
    tsne = TSNE(n_components=2, perplexity=perplexity, angle=theta, n_iter=iterations, init="pca",
                learning_rate="auto", random_state=seed, method="barnes_hut")
    start, cpu_start = time.perf_counter(), time.process_time()
    tsne.fit_transform(x)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(json.dumps({"implementation": "sklearn", "threads": threads, "seconds": round(wall, 3),
                      "cpu_seconds": round(cpu, 3),
                      "kl_divergence": float(tsne.kl_divergence_), "iterations": int(tsne.n_iter_) + 1}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    make = sub.add_parser("make-data")
    make.add_argument("path")
    bench = sub.add_parser("run")
    bench.add_argument("path")
    bench.add_argument("--threads", type=int, default=1)
    bench.add_argument("--iterations", type=int, default=1000)
    bench.add_argument("--perplexity", type=float, default=30.0)
    bench.add_argument("--theta", type=float, default=0.5)
    bench.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.cmd == "make-data":
        make_data(args.path)
    else:
        run(args.path, args.threads, args.iterations, args.perplexity, args.theta, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
