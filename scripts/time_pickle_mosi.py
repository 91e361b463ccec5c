#!/usr/bin/python3
"""Python baseline for the native dataset file: reads data/mosi.safetensors with json + numpy,
pickles the same content (feature/label arrays and metadata lists) the way this field ships
datasets, and times pickle.load of it (median of N runs, file in the page cache), so that opening
merc's file can be compared with loading the same data from a pickle.

Usage: /usr/bin/python3 scripts/time_pickle_mosi.py [data/mosi.safetensors] [--runs 21]
"""
import json
import pickle
import struct
import sys
import tempfile
import time

import numpy as np

path = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "data/mosi.safetensors"
runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 21
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__")
dtypes = {"F32": np.float32, "I64": np.int64, "U8": np.uint8}
obj = {name: np.frombuffer(raw[8 + n + t["data_offsets"][0]:8 + n + t["data_offsets"][1]],
                           dtype=dtypes[t["dtype"]]).reshape(t["shape"]) for name, t in header.items()}
obj.update({k: json.loads(v) if v[:1] in "[{" else v for k, v in meta.items()})
with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as f:
    pickle.dump(obj, f, protocol=4)
    pkl = f.name
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    with open(pkl, "rb") as f:
        pickle.load(f)
    times.append(time.perf_counter() - t0)
times.sort()
print("pickle.load of the same data (%d bytes): median %.2f ms, min %.2f ms over %d runs"
      % (len(open(pkl, "rb").read()), 1e3 * times[len(times) // 2], 1e3 * times[0], runs))
