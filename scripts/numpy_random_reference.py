#!/usr/bin/python3
"""Reference values for merc::data::NumpyRandomState, random_mask and the `random:` protocol.

Run with the system Python that has numpy (numpy 1.24.2 produced the values in
tests/data/numpy_random_test.cpp, random_mask_test.cpp and missing_protocol_test.cpp):

    /usr/bin/python3 scripts/numpy_random_reference.py

Everything uses numpy's LEGACY generator (np.random.RandomState), which is what
np.random.seed(seed) + np.random.randint(...) in GCNet/MoMKE/ComP drive. The random_mask below is our
own transcription of the published algorithm (method_reference.md section 2.4a), written from its
description; the one-hot step is `draw == column`, which is what sklearn's OneHotEncoder with fixed
categories computes.
"""
import numpy as np


def fmt(values):
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def random_mask(rs, view_num, input_len, missing_rate, tries=None):
    """GCNet's algorithm; appends the number of loop passes to `tries` when given."""
    one_rate = 1 - missing_rate
    if one_rate <= 1 / view_num:
        pick = rs.randint(0, view_num, size=(input_len, 1))
        return (pick == np.arange(view_num)[None, :]).astype(np.int64)
    if one_rate == 1:
        return rs.randint(1, 2, size=(input_len, view_num))
    rows = max(input_len, 32)
    passes = 0
    while True:
        passes += 1
        pick = rs.randint(0, view_num, size=(rows, 1))
        keep = (pick == np.arange(view_num)[None, :]).astype(np.int64)
        one_num = view_num * rows * one_rate - rows
        ratio = one_num / (view_num * rows)
        it = (rs.randint(0, 100, size=(rows, view_num)) < int(ratio * 100)).astype(np.int64)
        overlap = np.sum(((it + keep) > 1).astype(np.int64))
        one_num_iter = one_num / (1 - overlap / one_num)
        ratio = one_num_iter / (view_num * rows)
        it = (rs.randint(0, 100, size=(rows, view_num)) < int(ratio * 100)).astype(np.int64)
        matrix = ((it + keep) > 0).astype(np.int64)
        if abs(one_rate - np.sum(matrix) / (view_num * rows)) < 0.005:
            if tries is not None:
                tries.append(passes)
            return matrix[:input_len, :]


def stream_section():
    print("// --- NumpyRandomState: for each seed, one RandomState, calls in this order ---")
    for seed in [0, 1, 42, 2**32 - 1]:
        rs = np.random.RandomState(seed)
        st = rs.get_state()
        print(f"seed {seed}: key[0..3] {fmt(st[1][:4])} key[623] {int(st[1][623])} pos {st[2]}")
        print(f"  uint32 x8 (randint(0, 2**32, 8, uint64)) {fmt(rs.randint(0, 2**32, size=8, dtype=np.uint64))}")
        print(f"  randint(0,3,size=20) {fmt(rs.randint(0, 3, size=20))}")
        print(f"  randint(0,100,size=(8,3)) {fmt(rs.randint(0, 100, size=(8, 3)).ravel())}")
        print(f"  random_sample x3 {[repr(rs.random_sample()) for _ in range(3)]}")
        print(f"  randint(-5,10**12,size=4) {fmt(rs.randint(-5, 10**12, size=4))}")
        print(f"  randint(7,8,size=3) {fmt(rs.randint(7, 8, size=3))} then uint32 {int(rs.randint(0, 2**32, dtype=np.uint64))}")
        print(f"  scalar randint(0,3) {rs.randint(0, 3)} randint(-10,10) {rs.randint(-10, 10)}")
        st = rs.get_state()
        print(f"  after: pos {st[2]} key[0] {int(st[1][0])}")
    for key in [[123, 456], [0xFFFFFFFF, 1], [5]]:
        rs = np.random.RandomState(key)
        st = rs.get_state()
        print(f"array seed {key}: key[0..3] {fmt(st[1][:4])} uint32 x5 "
              f"{fmt(rs.randint(0, 2**32, size=5, dtype=np.uint64))}")
    seed = 2**40 + 7  # our seed_u64 for seeds >= 2**32: np.random.seed([low word, high word])
    rs = np.random.RandomState([seed & 0xFFFFFFFF, seed >> 32])
    print(f"seed_u64(2**40+7) == array seed [7, 256]: uint32 x3 {fmt(rs.randint(0, 2**32, size=3, dtype=np.uint64))}")


def mask_section():
    # (seed, L, rate, views). Not listed: (7, 6, 0.4, 2), for which no count k of ones has
    # |k/64 - 0.6| < 0.005 over the 32 x 2 cells drawn, so GCNet's loop never ends (ours throws).
    print("// --- random_mask(view_num, L, rate) on a fresh RandomState(seed); then the next uint32;"
          " loop passes ---")
    cases = [(0, 10, 0.0, 3), (1, 10, 0.7, 3), (2, 5, 0.3, 3), (3, 40, 0.5, 3), (42, 33, 0.1, 3),
             (66, 12, 0.2, 3), (7, 6, 0.25, 2), (8, 0, 0.3, 3), (9, 4, 0.6, 3)]
    for seed, length, rate, views in cases:
        rs = np.random.RandomState(seed)
        tries = []
        m = random_mask(rs, views, length, rate, tries)
        nxt = int(rs.randint(0, 2**32, dtype=np.uint64))
        bits = ''.join(str(int(v)) for v in np.asarray(m).ravel())
        print(f"{{{seed}, {length}, {rate}, {views}, \"{bits}\", {nxt}U}},  // passes {tries}")


def protocol_section():
    # ComP's layout (train_mr.py): per batch, a host mask and then a guest mask, each
    # random_mask(3, seqlen*batch, rate); column k reshaped to (batch, seqlen); utterance (b, t) takes
    # the host row when its speaker index is 0 and the guest row otherwise (generate_inputs' where).
    # Batch: tiny_dataset dialogues d0 (len 2), d1 (len 3), d2 (len 1); speaker = t % 2, padding 0.
    print("// --- random:0.3 protocol, seed 66, two batches of tiny_dataset [d0, d1, d2] (B=3, T=3) ---")
    np.random.seed(66)
    speaker = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 0]])
    batch, seqlen = 3, 3
    for step in range(2):
        host = random_mask(np.random.mtrand._rand, 3, seqlen * batch, 0.3)
        guest = random_mask(np.random.mtrand._rand, 3, seqlen * batch, 0.3)
        out = np.zeros((batch, seqlen, 3), dtype=np.int64)
        for k in range(3):
            h = np.reshape(host[:, k], (batch, seqlen))
            g = np.reshape(guest[:, k], (batch, seqlen))
            out[:, :, k] = np.where(speaker == 0, h, g)
        # Print in merc's modality order (text, audio, visual) = GCNet columns (1, 0, 2).
        merc = out[:, :, [1, 0, 2]]
        print(f"batch {step}: (B,T,3) text/audio/visual \"{''.join(str(int(v)) for v in merc.ravel())}\"")


def fnv1a64(data):
    h = 14695981039346656037
    for byte in data:
        h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def dialogue_seed(seed, dialogue_id):
    return fnv1a64(seed.to_bytes(8, "little") + dialogue_id.encode("utf-8"))


def fixed_section():
    # Fixed redraw mode: dialogue d of length n gets host then guest = random_mask(3, n, rate) from
    # its own generator, seeded with dialogue_seed(seed, id) (np.random.seed(h) when h < 2**32, else
    # np.random.seed([low word, high word])); speaker 0 takes the host row.
    print("// --- dialogue_seed and random:0.5 in fixed mode, seed 66, tiny_dataset ---")
    for seed, did in [(0, ""), (66, "d0"), (2**64 - 1, "Ses01F_impro01")]:
        print(f"dialogue_seed({seed}, '{did}') = {dialogue_seed(seed, did)}U")
    for did, speakers in [("d0", [0, 1]), ("d1", [0, 1, 0]), ("d2", [0])]:
        h = dialogue_seed(66, did)
        rs = np.random.RandomState(h if h < 2**32 else [h & 0xFFFFFFFF, h >> 32])
        host = random_mask(rs, 3, len(speakers), 0.5)
        guest = random_mask(rs, 3, len(speakers), 0.5)
        rows = [host[t] if speakers[t] == 0 else guest[t] for t in range(len(speakers))]
        merc = "".join(str(int(r[k])) for r in rows for k in (1, 0, 2))
        print(f"{did}: (T,3) text/audio/visual \"{merc}\"")


if __name__ == "__main__":
    print(f"// numpy {np.__version__}")
    stream_section()
    mask_section()
    protocol_section()
    fixed_section()
