#!/usr/bin/python3
"""Synthetic IEMOCAP-layout pickle for the pickle-reader benchmark, written the way Python 2's
cPickle wrote the DialogueRNN-era feature files (protocol 2, byte strings, see
tests/fixtures/py2pickle.py). Never commit the output; it lives in /tmp.

    /usr/bin/python3 scripts/make_bench_pickle.py [OUT] [--dialogues N]   # write (default 240 -> ~115 MB)
    /usr/bin/python3 scripts/make_bench_pickle.py [OUT] --time [--runs 5]  # time pickle.load(latin1)

Layout (a 9-tuple): videoIDs{vid: [utt id]}, videoSpeakers{vid: ['M'|'F']}, videoLabels{vid: [int]},
videoText{vid: float32[L,100]}, videoAudio{vid: float32[L,1582]}, videoVisual{vid: float32[L,342]},
videoSentence{vid: [str]}, trainVid(set), testVid(set); L in 8..110 per dialogue.
"""

import argparse
import os
import pickle
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures'))
from py2pickle import Py2Str, dump  # noqa: E402


def build(n_dialogues, seed=0):
    rng = np.random.default_rng(seed)
    ids, spk, lab, text, audio, visual, sent = {}, {}, {}, {}, {}, {}, {}
    vids = []
    for d in range(n_dialogues):
        vid = Py2Str('Ses%02d%s_impro%03d' % (d % 5 + 1, 'FM'[d % 2], d))
        vids.append(vid)
        n = int(rng.integers(8, 111))
        ids[vid] = [Py2Str('%s_%s%03d' % (vid, 'FM'[i % 2], i)) for i in range(n)]
        spk[vid] = [Py2Str('FM'[int(x)]) for x in rng.integers(0, 2, n)]
        lab[vid] = [int(x) for x in rng.integers(0, 6, n)]
        text[vid] = rng.standard_normal((n, 100), dtype=np.float32)
        audio[vid] = rng.standard_normal((n, 1582), dtype=np.float32)
        visual[vid] = rng.standard_normal((n, 342), dtype=np.float32)
        sent[vid] = [Py2Str('utterance %d of dialogue %d, caf\u00e9' % (i, d)) for i in range(n)]
    split = int(0.8 * n_dialogues)
    return (ids, spk, lab, text, audio, visual, sent, set(vids[:split]), set(vids[split:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out', nargs='?', default='/tmp/merc_bench_iemocap.pkl')
    ap.add_argument('--dialogues', type=int, default=240)
    ap.add_argument('--time', action='store_true', help='time pickle.load(f, encoding="latin1")')
    ap.add_argument('--runs', type=int, default=5)
    args = ap.parse_args()
    if args.time:
        size = os.path.getsize(args.out)
        times, cpu = [], []
        for _ in range(args.runs):
            with open(args.out, 'rb') as f:
                t0, c0 = time.perf_counter(), time.process_time()
                obj = pickle.load(f, encoding='latin1')
                del obj  # teardown counted too, as in the C++ benchmark
                cpu.append(time.process_time() - c0)
                times.append(time.perf_counter() - t0)
        med, med_cpu = statistics.median(times), statistics.median(cpu)
        print('python %s pickle.load(latin1): %d bytes, wall runs %s s, median wall %.4f s = %.1f MB/s, '
              'median cpu %.4f s = %.1f MB/s' % (sys.version.split()[0], size, ['%.4f' % t for t in times],
                                                 med, size / med / 1e6, med_cpu, size / med_cpu / 1e6))
        return
    with open(args.out, 'wb') as f:
        dump(build(args.dialogues), f)
    print('wrote %s: %d bytes' % (args.out, os.path.getsize(args.out)))


if __name__ == '__main__':
    main()
