"""Shared helpers of the M3Net / MoED parity scripts (scripts/parity/moed.py, m3net.py).

Writes small synthetic datasets in the feature-pickle layout that M3Net and MoED read
(method_reference.md §1.2; merc's readers: docs/data_formats.md "Graph ERC feature pickles"):

  IEMOCAP_features/IEMOCAP_features.pkl       9-tuple, Python-2 style (loaded with encoding='latin1')
  IEMOCAP_features/iemocap_features_roberta.pkl 10-tuple, Python-2 style
  MELD_features/MELD_features_raw1.pkl        10-tuple, protocol 4 (M3Net loads it without encoding=)
  MELD_features/meld_features_roberta.pkl     11-tuple, Python-2 style

Feature values are seeded random float32 (not the real features, which are on Dropbox/Google
Drive only); the unused textCNN/MELD text fields keep their published widths (100 / 600) so that
merc's format detection sees the published shapes. Split lists are Python lists (ordered), so
the upstream loaders visit the dialogues in the same order on every run (a Python set of str
would iterate in PYTHONHASHSEED order).

Also: numpy output helpers and the environment patches both scripts need (documented there).
"""

import json
import os
import random
import sys
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'fixtures'))
import py2pickle  # noqa: E402  (tests/fixtures/py2pickle.py: Python-2 style protocol 2)

Py2Str = py2pickle.Py2Str


def seeded_rng(seed):
    return np.random.RandomState(seed)


def _features(rng, length, dim, loc, scale):
    # Per-column offsets and scales so that BatchNorm statistics are not trivial.
    return (loc + scale * rng.randn(length, dim)).astype(np.float32)


def _write(path, obj, py2):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        if py2:
            py2pickle.dump(obj, f)
        else:
            import pickle
            pickle.dump(obj, f, protocol=4)


def write_iemocap(root, rng, train, test, text_dim, audio_dim, visual_dim):
    """train/test: lists of (vid, speakers string like 'MFFM', labels list). Writes under
    root/IEMOCAP_features/. text_dim = width of EACH of the four RoBERTa layers."""
    dialogues = train + test
    ids, spk, lab, text, audio, visual, sent = {}, {}, {}, {}, {}, {}, {}
    rob = [{}, {}, {}, {}]
    text_loc = [rng.randn(text_dim).astype(np.float32) * 0.5 for _ in range(4)]
    text_scale = [np.exp(0.3 * rng.randn(text_dim)).astype(np.float32) for _ in range(4)]
    audio_loc = rng.randn(audio_dim).astype(np.float32)
    audio_scale = np.exp(0.5 * rng.randn(audio_dim)).astype(np.float32)
    for vid, speakers, labels in dialogues:
        L = len(speakers)
        assert len(labels) == L
        v = Py2Str(vid)
        ids[v] = [Py2Str('%s_%s%03d' % (vid, speakers[u], u)) for u in range(L)]
        spk[v] = [Py2Str(c) for c in speakers]
        lab[v] = list(labels)
        text[v] = _features(rng, L, 100, 0.0, 1.0)
        audio[v] = _features(rng, L, audio_dim, audio_loc, audio_scale)
        visual[v] = _features(rng, L, visual_dim, 0.0, 1.0)
        sent[v] = [Py2Str('utterance %d of %s' % (u, vid)) for u in range(L)]
        for k in range(4):
            rob[k][v] = _features(rng, L, text_dim, text_loc[k], text_scale[k])
    train_vids = [Py2Str(d[0]) for d in train]
    test_vids = [Py2Str(d[0]) for d in test]
    base = os.path.join(root, 'IEMOCAP_features')
    _write(os.path.join(base, 'IEMOCAP_features.pkl'),
           (ids, spk, lab, text, audio, visual, sent, train_vids, test_vids), py2=True)
    _write(os.path.join(base, 'iemocap_features_roberta.pkl'),
           (spk, lab, rob[0], rob[1], rob[2], rob[3], sent, train_vids, test_vids, []), py2=True)


def write_meld(root, rng, train, test, text_dim, audio_dim, visual_dim, n_speakers=9):
    """train/test: lists of (int vid, speaker slots list, labels list). Writes under
    root/MELD_features/. text_dim = width of EACH of the four RoBERTa layers."""
    dialogues = train + test
    ids, spk, lab, senti, text, audio, visual, sent = {}, {}, {}, {}, {}, {}, {}, {}
    rob = [{}, {}, {}, {}]
    text_loc = [rng.randn(text_dim).astype(np.float32) * 0.5 for _ in range(4)]
    text_scale = [np.exp(0.3 * rng.randn(text_dim)).astype(np.float32) for _ in range(4)]
    for vid, slots, labels in dialogues:
        L = len(slots)
        assert len(labels) == L
        ids[vid] = list(range(L))
        spk[vid] = [[1 if j == s else 0 for j in range(n_speakers)] for s in slots]
        lab[vid] = list(labels)
        senti[vid] = [x % 3 for x in labels]
        text[vid] = _features(rng, L, 600, 0.0, 1.0)
        audio[vid] = _features(rng, L, audio_dim, 0.0, 1.0)
        visual[vid] = _features(rng, L, visual_dim, 0.0, 1.0)
        sent[vid] = ['meld utterance %d of %d' % (u, vid) for u in range(L)]
        for k in range(4):
            rob[k][vid] = _features(rng, L, text_dim, text_loc[k], text_scale[k])
    train_vids = [d[0] for d in train]
    test_vids = [d[0] for d in test]
    base = os.path.join(root, 'MELD_features')
    _write(os.path.join(base, 'MELD_features_raw1.pkl'),
           (ids, spk, lab, text, audio, visual, sent, train_vids, test_vids, None), py2=False)
    _write(os.path.join(base, 'meld_features_roberta.pkl'),
           (spk, lab, senti, rob[0], rob[1], rob[2], rob[3], sent, train_vids, test_vids, []), py2=True)


def install_cpu_patches(pyg_dir, upstream_dir, need_torch_scatter=False):
    """Import path + the minimal stubs the upstream code needs on this machine:
      * torch.Tensor.cuda -> identity: the released code calls .cuda() unconditionally (edge
        construction, FocalLoss); this machine has no GPU and the arithmetic is the same on CPU.
      * torch_scatter.scatter_add (M3Net's HypergraphConv): torch_scatter is not installed; the stub
        is PyG's own torch_geometric.utils.scatter(..., reduce='sum'), the same sum.
      * ipdb (imported, never used by the code paths run here): an empty module.
    """
    sys.path.insert(0, pyg_dir)
    sys.path.insert(0, upstream_dir)
    import torch
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.set_num_threads(1)  # fewer sources of run-to-run rounding differences
    if 'ipdb' not in sys.modules:
        sys.modules['ipdb'] = types.ModuleType('ipdb')
    if need_torch_scatter and 'torch_scatter' not in sys.modules:
        from torch_geometric.utils import scatter
        ts = types.ModuleType('torch_scatter')

        def scatter_add(src, index, dim=-1, out=None, dim_size=None):
            assert out is None
            return scatter(src, index, dim=dim, dim_size=dim_size, reduce='sum')
        ts.scatter_add = scatter_add
        sys.modules['torch_scatter'] = ts


def pyg1_size_convention(cls):
    """Makes `cls.propagate` read its `size` argument the way PyTorch Geometric 1.x did.

    M3Net (written for torch-geometric 1.7.2) calls propagate with flow='target_to_source' and
    size=(num_edges, num_nodes). PyG 1.x read `size` as (size_j, size_i), i.e. (source count,
    target count) whatever the flow (MessagePassing.__collect__: `dim = 0 if arg[-2:] == '_j' else
    1`); PyG >= 2 reads size[k] as the count of edge_index[k]'s index space (`dim = j if ... else
    i`), so for target_to_source the two entries trade places (and PyG 2.3.1 rejects the 1.x call).
    For that flow only, the tuple is swapped before PyG 2.3.1 sees it: the same messages, the
    same aggregation over the same dim_size as under 1.7.2. source_to_target is unchanged."""
    base = cls.propagate

    def propagate(self, edge_index, size=None, **kwargs):
        if self.flow == 'target_to_source' and size is not None:
            size = (size[1], size[0])
        return base(self, edge_index, size=size, **kwargs)
    cls.propagate = propagate


def seed_everything(seed):
    """The upstream seed_everything (train.py of both repositories), CPU part."""
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def record_step(out, model, optimizer, loss, step_tensors, step_buffers):
    """Backward from `loss` and one optimizer step; writes step_loss.npy, step_grads.npz (the
    gradients of `step_tensors`) and step_weights.npz (`step_tensors` and `step_buffers` after it)."""
    loss.backward()
    params = dict(model.named_parameters())
    grads = {k: params[k].grad.detach().numpy().copy() for k in step_tensors}
    optimizer.step()
    state = model.state_dict()
    weights = {k: state[k].detach().numpy().copy() for k in step_tensors + step_buffers}
    save_npy(os.path.join(out, 'step_loss.npy'), np.array([loss.item()], dtype=np.float64))
    save_npz(os.path.join(out, 'step_grads.npz'), grads)
    save_npz(os.path.join(out, 'step_weights.npz'), weights)


def save_npy(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(array))


def save_npz(path, named):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, **{k: np.ascontiguousarray(v) for k, v in named.items()})


def save_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write('\n')


def dir_size(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(dirpath, name))
    return total
