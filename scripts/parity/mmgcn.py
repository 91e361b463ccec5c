#!/usr/bin/python3
"""Parity fixtures for merc's mmgcn, made with the authors' own code.

Upstream: github hujingwen6666/MMGCN at commit 85732d9 (method_reference.md section 0), imported
unchanged from a scratch checkout (never committed, never copied); the feature pickles stored in
that repository are not needed (git archive 85732d9 -- '*.py' '*.sh' into /work/scratch/upstream/MMGCN).

Command mirrored (run.sh, the IEMOCAP line = merc's configs/experiments/mmgcn_iemocap.yaml):

    python train.py --base-model 'LSTM' --graph-model --nodal-attention --dropout 0.4 --lr 0.0003
        --batch-size 16 --l2 0.00003 --graph_type='MMGCN' --epochs=20 --graph_construct='direct'
        --multi_modal --mm_fusion_mthd='concat_subsequently' --modals='avl' --Dataset='IEMOCAP'
        --Deep_GCN_nlayers 4 --class-weight --use_speaker   (+ --no-cuda here)

The model is DialogueGCNModel built with exactly train.py's constructor arguments for that
command (D_e = 100, graph_h = 100 and the 64 GCNII layers are hard-coded in train.py / model.py,
there is no command-line argument to shrink them, so the published sizes are kept). Only the
feature dims differ: train.py takes them from its feat2dim table for the real features
(IS10 1582 / denseface 342 / textCNN 100); the synthetic features here have audio 20, visual 12,
text 16, and the constructor gets those (D_m, D_m_a, D_m_v). To keep the committed checkpoint
compressible, every floating-point weight is rounded to a bfloat16 value (stored as float32; the
computation stays float32): the file is 9 MB on disk, about half that in git.

What is written to OUT (default tests/fixtures/parity/mmgcn/):
  IEMOCAP_features/IEMOCAP_features.pkl   the 9-tuple (videoIDs, videoSpeakers, videoLabels,
                                   videoText, videoAudio, videoVisual, videoSentence, trainVid,
                                   testVid), pickled as Python 2 wrote it (merc's
                                   tests/fixtures/py2pickle.py), read by the authors'
                                   IEMOCAPDataset (encoding='latin1'); 4 train + 3 test dialogues
  model.pth                        torch.save({'net': model.state_dict()}): the layout train.py's
                                   test_label branch loads (state['net'])
  test_uids.txt                    test utterances in merc's order (dialogues sorted by id)
  prob_complete.npy                (N_test, 6) float32: exp(log_prob) of the eval-mode model on the
                                   test loader (batch 16 = the three test dialogues in one batch)
  step_*.npy, step.json            one training step of train_or_eval_graph_model(train=True) on
                                   the four training dialogues (one batch), dropout 0 (--dropout
                                   0.0), class-weighted NLLLoss: the loss, gradients and the
                                   weights after Adam(lr 3e-4, weight decay 3e-5)
  meta.json                        versions and sizes

Runtime patches (the code is unchanged): MM_GCN.forward and create_big_adj call .cuda()
unconditionally, so torch.Tensor.cuda is replaced by the identity (CPU run); train.py imports
ipdb, which is not installed: an empty module stands in (never called); train.py's module
globals `args` and `cuda` (set in its __main__) are set to the command's values.

Environment: Debian's /usr/bin/python3 with python3-torch 1.13, numpy, pandas, sklearn; model.py
imports torch_geometric (unused by MMGCN): PyG 2.3.x pure-python source at /work/scratch/pyg-2.3.1.

Run:  /usr/bin/python3 scripts/parity/mmgcn.py [OUT] [--upstream /work/scratch/upstream/MMGCN]
"""
import argparse
import json
import os
import shutil
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
cli = argparse.ArgumentParser()
cli.add_argument("out", nargs="?", default=os.path.join(REPO, "tests", "fixtures", "parity", "mmgcn"))
cli.add_argument("--upstream", default="/work/scratch/upstream/MMGCN")
cli.add_argument("--pyg", default="/work/scratch/pyg-2.3.1")
opts = cli.parse_args()

sys.path.insert(0, opts.pyg)
sys.path.insert(0, opts.upstream)
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
sys.modules.setdefault("ipdb", types.ModuleType("ipdb"))

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader

torch.Tensor.cuda = lambda self, *a, **k: self  # MM_GCN calls .cuda() unconditionally

import py2pickle
import train as mmgcn_train                     # the authors' train.py (main under __name__ guard)
from model import DialogueGCNModel

OUT = opts.out
D_TEXT, D_AUDIO, D_VISUAL = 16, 20, 12

# ---------------------------------------------------------------- synthetic data, MMGCN layout
rng = np.random.RandomState(20260108)
dialogues = {"Ses01F_impro01": ("train", 4), "Ses01M_script02": ("train", 6), "Ses02F_impro03": ("train", 2),
             "Ses03M_impro05": ("train", 7), "Ses05F_impro02": ("test", 5), "Ses05M_script01": ("test", 8),
             "Ses05F_script03": ("test", 3)}
if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(os.path.join(OUT, "IEMOCAP_features"))
videoIDs, videoSpeakers, videoLabels, videoText, videoAudio, videoVisual, videoSentence = {}, {}, {}, {}, {}, {}, {}
trainVid, testVid = [], []
for vid, (split, n) in dialogues.items():
    videoIDs[vid] = [py2pickle.Py2Str(f"{vid}_{'FM'[i % 2]}{i:03d}") for i in range(n)]
    videoSpeakers[vid] = [py2pickle.Py2Str(rng.choice(["M", "F"])) for _ in range(n)]
    videoLabels[vid] = [int(rng.randint(0, 6)) for _ in range(n)]
    videoText[vid] = rng.randn(n, D_TEXT).astype(np.float32)
    videoAudio[vid] = rng.randn(n, D_AUDIO).astype(np.float32)
    videoVisual[vid] = rng.randn(n, D_VISUAL).astype(np.float32)
    videoSentence[vid] = [py2pickle.Py2Str(f"utterance {i} of {vid}") for i in range(n)]
    (trainVid if split == "train" else testVid).append(vid)
pkl = os.path.join(OUT, "IEMOCAP_features", "IEMOCAP_features.pkl")
with open(pkl, "wb") as f:
    py2pickle.dump((videoIDs, videoSpeakers, videoLabels, videoText, videoAudio, videoVisual, videoSentence,
                    set(trainVid), set(testVid)), f)

os.chdir(OUT)  # IEMOCAPDataset reads './IEMOCAP_features/IEMOCAP_features.pkl'
from dataloader import IEMOCAPDataset  # noqa: E402

trainset, testset = IEMOCAPDataset(train=True), IEMOCAPDataset(train=False)
test_loader = DataLoader(testset, batch_size=16, collate_fn=testset.collate_fn, num_workers=0)
train_loader = DataLoader(trainset, batch_size=16, collate_fn=trainset.collate_fn, num_workers=0)

# train.py's globals for the command (set in its __main__)
mmgcn_train.args = argparse.Namespace(multi_modal=True, mm_fusion_mthd="concat_subsequently", modals="avl",
                                      tensorboard=False, Dataset="IEMOCAP")
mmgcn_train.cuda = False


def build(dropout):
    # train.py: DialogueGCNModel(args.base_model, D_m, D_g, D_p, D_e, D_h, D_a, graph_h, ...)
    return DialogueGCNModel("LSTM", D_TEXT, 150, 150, 100, 100, 100, 100,
                            n_speakers=2, max_seq_len=200, window_past=10, window_future=10, n_classes=6,
                            listener_state=False, context_attention="general", dropout=dropout,
                            nodal_attention=True, no_cuda=True, graph_type="MMGCN", use_topic=False, alpha=0.2,
                            multiheads=6, graph_construct="direct", use_GCN=False, use_residue=True,
                            D_m_v=D_VISUAL, D_m_a=D_AUDIO, modals="avl", att_type="concat_subsequently",
                            av_using_lstm=False, Deep_GCN_nlayers=4, dataset="IEMOCAP", use_speaker=True,
                            use_modal=False)


mmgcn_train.seed_everything()
model = build(0.4)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(p.bfloat16().float())
torch.save({"net": model.state_dict()}, os.path.join(OUT, "model.pth"))

# ---------------------------------------------------------------- eval-mode probabilities
model.eval()
rows = {}
with torch.no_grad():
    for data in test_loader:
        # the lines of train_or_eval_graph_model for this command
        textf, visuf, acouf, qmask, umask, label = data[:-1]
        lengths = [(umask[j] == 1).nonzero().tolist()[-1][0] + 1 for j in range(len(umask))]
        log_prob, _, _, _, _ = model(textf, qmask, umask, lengths, acouf, visuf)
        start = 0
        for vid, n in zip(data[-1], lengths):
            rows[vid] = log_prob[start:start + n].exp().numpy()
            start += n
loss_weights = torch.FloatTensor([1 / 0.086747, 1 / 0.144406, 1 / 0.227883, 1 / 0.160585, 1 / 0.127711, 1 / 0.252668])
_, _, _, preds, _, _, _, _, _, _ = mmgcn_train.train_or_eval_graph_model(
    model, nn.NLLLoss(loss_weights), test_loader, 0, False, "avl", dataset="IEMOCAP")
order = list(test_loader.dataset.keys)  # the loader's order (sequential sampler)
assert np.array_equal(preds, np.concatenate([rows[v].argmax(1) for v in order])), "authors' loop disagrees"
uids = []
probs = []
for vid in sorted(testVid):
    uids += [str(u) for u in videoIDs[vid]]
    probs.append(rows[vid])
np.save(os.path.join(OUT, "prob_complete.npy"), np.concatenate(probs).astype(np.float32))
with open(os.path.join(OUT, "test_uids.txt"), "w") as f:
    f.write("\n".join(uids) + "\n")

# ---------------------------------------------------------------- one training step
step_model = build(0.0)
step_model.load_state_dict(torch.load(os.path.join(OUT, "model.pth"))["net"])
optimizer = optim.Adam(step_model.parameters(), lr=0.0003, weight_decay=0.00003)
recorded = {}


class RecordNLL(nn.NLLLoss):
    def forward(self, *a):
        out = super().forward(*a)
        recorded["loss"] = out.item()
        return out


mmgcn_train.train_or_eval_graph_model(step_model, RecordNLL(loss_weights), train_loader, 0, False, "avl",
                                      optimizer, True, dataset="IEMOCAP")
STEP_KEYS = ["linear_a.weight", "linear_l.bias", "lstm_l.bias_ih_l0", "lstm_l.bias_hh_l1_reverse",
             "graph_model.speaker_embeddings.weight", "graph_model.graph_net.fcs.0.weight",
             "graph_model.graph_net.convs.0.weight", "graph_model.graph_net.convs.63.weight", "smax_fc.weight",
             "smax_fc.bias"]
params = dict(step_model.named_parameters())
for i, key in enumerate(STEP_KEYS):
    np.save(os.path.join(OUT, f"step_after_{i:02d}.npy"), params[key].detach().numpy())
    np.save(os.path.join(OUT, f"step_grad_{i:02d}.npy"), params[key].grad.numpy())
with open(os.path.join(OUT, "step.json"), "w") as f:
    json.dump({"split": "train", "keys": STEP_KEYS, "loss": recorded["loss"], "dropout": 0.0,
               "loss_function": "nn.NLLLoss(weight=1/[0.086747, 0.144406, 0.227883, 0.160585, 0.127711, 0.252668])",
               "optimizer": "Adam(lr=0.0003, weight_decay=3e-05)"}, f, indent=1)
import torch_geometric  # noqa: E402
with open(os.path.join(OUT, "meta.json"), "w") as f:
    json.dump({"upstream": "hujingwen6666/MMGCN@85732d9", "command": "run.sh IEMOCAP line, --no-cuda",
               "torch": torch.__version__, "torch_geometric": torch_geometric.__version__, "numpy": np.__version__,
               "dims": {"text": D_TEXT, "audio": D_AUDIO, "visual": D_VISUAL}, "D_e": 100, "graph_h": 100,
               "gcnii_layers": 64, "weights": "rounded to bfloat16 values, stored as float32"}, f, indent=1)
print("wrote", OUT)
