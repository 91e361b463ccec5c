#!/usr/bin/python3
"""Parity fixtures for merc's gcnet, made with the authors' own code.

Upstream: github zeroQiaoba/GCNet at commit 8cce4a0 (method_reference.md section 0), imported
unchanged from a scratch checkout (never committed, never copied):

    git --git-dir=<mirror of zeroQiaoba/GCNet> archive 8cce4a0 -- . \
        ':!dataset/CMUMOSEI/CMUMOSEI_features_raw_2way.pkl' | tar -x -C /work/scratch/upstream/GCNet

Command mirrored (run_gcnet.sh / README, dataset CMUMOSI = merc's gcnet_mosi_published.yaml):

    python -u train_gcnet.py --epoch=100 --lr=0.001 --hidden=200 --mask-type='constant-0.2' \
        --windowp=2 --windowf=2 --base-model='LSTM' --loss-recon --dataset=CMUMOSI \
        --audio-feature='wav2vec-large-c-UTT' --text-feature='deberta-large-4-UTT' \
        --video-feature='manet_UTT' --seed=66

Size change (only through the command's own arguments): --hidden 12 instead of 200 (graph width
hidden // 2 = 6, as build_model derives it), so that the checkpoint stays small; the feature dims
are the synthetic features' own (audio 6, text 10, video 5). A second checkpoint adds --time-attn
(run_gcnet.sh sweeps it), forward only.

What is written to OUT (default tests/fixtures/parity/gcnet/):
  CMUMOSI_features_raw_2way.pkl    label pickle, GCNet's layout (list of 7; numpy.float64 labels;
                                   split sets), 8 videos: 3 train, 1 valid, 4 test
  features/wav2vec-large-c-UTT/<uid>.npy   audio (1, 6)
  features/deberta-large-4-UTT/<uid>.npy   text (T, 10), read_data time-averages it
  features/manet_UTT/<uid>.npy or <uid>/<face>.npy   video (5,) or a folder of faces, averaged
  checkpoint.pth, checkpoint_time_attn.pth   torch.save(model.state_dict()): train_gcnet.py
                                   saves no checkpoint at all (only an .npz of predictions), so
                                   the plain state_dict is what a user who adds a save would write
  test_uids.txt                    the test utterances in merc's order (sorted test videos,
                                   utterances in order), one per line
  pred_<mask>.npy                  (N_test,) float32: the model's eval-mode regression output per
                                   test utterance (GCNet's `log_prob`, n_classes = 1), from the
                                   authors' train_or_eval_model on the test loader (one batch of
                                   32 = every test video), for the masks complete, drop_a (audio
                                   missing everywhere) and drop_tv (text and visual missing)
  pred_time_attn_complete.npy      the --time-attn checkpoint, complete modalities
  step_*.npy, step.json            one training step of train_or_eval_model(train=True) on the
                                   3 training videos (one batch), audio missing everywhere,
                                   dropout 0 (--dropout 0.0): loss1 (MSE), loss2 (reconstruction),
                                   the gradients and the weights after Adam(lr 1e-3, l2 1e-5)
  meta.json                        versions, hash seed, relation-id mapping, sizes

Fixed masks instead of random_mask: train_or_eval_model draws masks with random_mask(3,
seqlen*batch, rate); this script replaces that module-level function (a monkeypatch of the
imported module, the code is unchanged) by one returning the fixed (rows, 3) matrix.

Relation ids: batch_graphify numbers the temporal relations by iterating a Python set of the
strings past/now/future, so the ids depend on PYTHONHASHSEED. This script re-executes itself with
PYTHONHASHSEED=4, where the order is now, future, past (written to meta.json); merc reads it
through model.upstream_temporal_relations.

Environment: Debian's /usr/bin/python3 with python3-torch 1.13, numpy, pandas, sklearn, tqdm;
PyTorch Geometric 2.3.x pure-python source (RGCNConv, GraphConv) on PYTHONPATH or at
/work/scratch/pyg-2.3.1. Nothing is stubbed. Runs on CPU (--no-cuda).

Run:  /usr/bin/python3 scripts/parity/gcnet.py [OUT] [--upstream /work/scratch/upstream/GCNet]
"""
import argparse
import json
import os
import pickle
import shutil
import sys

HASH_SEED = "4"
if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
    os.environ["PYTHONHASHSEED"] = HASH_SEED
    os.execv(sys.executable, [sys.executable] + sys.argv)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
cli = argparse.ArgumentParser()
cli.add_argument("out", nargs="?", default=os.path.join(REPO, "tests", "fixtures", "parity", "gcnet"))
cli.add_argument("--upstream", default="/work/scratch/upstream/GCNet")
cli.add_argument("--pyg", default="/work/scratch/pyg-2.3.1")
opts = cli.parse_args()

sys.path.insert(0, opts.pyg)
sys.path.insert(0, opts.upstream)                          # config.py (train_gcnet does sys.path.append('../'))
sys.path.insert(0, os.path.join(opts.upstream, "gcnet"))   # model.py, module.py, graph.py, loss.py, ...

import numpy as np
import torch
import torch.optim as optim
from torch.utils.data import DataLoader

import torch_geometric
import train_gcnet                      # the authors' script (its main is under __name__ guard)
from dataloader_cmumosi import CMUMOSIDataset
from loss import MaskedCELoss, MaskedMSELoss, MaskedReconLoss

OUT = opts.out
AUDIO, TEXT, VIDEO = "wav2vec-large-c-UTT", "deberta-large-4-UTT", "manet_UTT"
ADIM, TDIM, VDIM = 6, 10, 5
HIDDEN = 12

# ---------------------------------------------------------------- synthetic data, GCNet layout
rng = np.random.RandomState(20260107)
videos = {  # vid -> (split, length)
    "tr_a": ("train", 4), "tr_b": ("train", 6), "tr_c": ("train", 3),
    "va_a": ("valid", 2),
    "te_a": ("test", 5), "te_b": ("test", 2), "te_c": ("test", 7), "te_d": ("test", 1),
}
if os.path.isdir(OUT):
    for name in os.listdir(OUT):
        p = os.path.join(OUT, name)
        shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
os.makedirs(OUT, exist_ok=True)
for f in (AUDIO, TEXT, VIDEO):
    os.makedirs(os.path.join(OUT, "features", f), exist_ok=True)

videoIDs, videoLabels, videoSpeakers, videoSentences = {}, {}, {}, {}
trainVids, valVids, testVids = set(), set(), set()
face_counter = 0
for vid, (split, n) in videos.items():
    uids = [f"{vid}_{i + 1}" for i in range(n)]
    videoIDs[vid] = uids
    labels = [np.float64(round(float(rng.uniform(-3, 3)), 1)) for _ in range(n)]
    if vid == "te_a":
        labels[1] = np.float64(0.0)  # a zero label: GCNet's Acc-2 drops it, merc keeps the score
    videoLabels[vid] = labels
    videoSpeakers[vid] = [""] * n
    videoSentences[vid] = [f"utterance {i + 1} of {vid}" for i in range(n)]
    {"train": trainVids, "valid": valVids, "test": testVids}[split].add(vid)
    for i, uid in enumerate(uids):
        np.save(os.path.join(OUT, "features", AUDIO, uid + ".npy"), rng.randn(1, ADIM).astype(np.float32))
        frames = 1 + (i % 3)
        np.save(os.path.join(OUT, "features", TEXT, uid + ".npy"), rng.randn(frames, TDIM).astype(np.float32))
        if i % 2 == 0:  # a folder of faces (averaged), else one vector
            d = os.path.join(OUT, "features", VIDEO, uid)
            os.makedirs(d)
            for k in range(1 + (i % 4) // 2 + 1):
                np.save(os.path.join(d, f"face_{k:03d}.npy"), rng.randn(VDIM).astype(np.float32))
        else:
            np.save(os.path.join(OUT, "features", VIDEO, uid + ".npy"), rng.randn(VDIM).astype(np.float32))

label_path = os.path.join(OUT, "CMUMOSI_features_raw_2way.pkl")
with open(label_path, "wb") as f:
    pickle.dump([videoIDs, videoLabels, videoSpeakers, videoSentences, trainVids, valVids, testVids], f, protocol=4)

# ---------------------------------------------------------------- the authors' dataset + model
dataset = CMUMOSIDataset(label_path=label_path,
                         audio_root=os.path.join(OUT, "features", AUDIO),
                         text_root=os.path.join(OUT, "features", TEXT),
                         video_root=os.path.join(OUT, "features", VIDEO))
adim, tdim, vdim = dataset.get_featDim()
assert (adim, tdim, vdim) == (ADIM, TDIM, VDIM)
n_train, n_val = len(dataset.trainVids), len(dataset.valVids)
train_idxs = list(range(0, n_train))
test_idxs = list(range(n_train + n_val, len(dataset.vids)))


def loader(idxs):
    # get_loaders uses SubsetRandomSampler(idxs) with batch_size 32; every split here fits in one
    # batch, and within one batch the order does not change any output (the LSTMs see the same
    # padded length), so a fixed order is used.
    return DataLoader(dataset, batch_size=32, sampler=idxs, collate_fn=dataset.collate_fn, num_workers=0)


def command_args(**over):
    # The argparse namespace of the mirrored command (train_gcnet.py __main__), CMUMOSI settings.
    a = dict(audio_feature=AUDIO, text_feature=TEXT, video_feature=VIDEO, dataset="CMUMOSI",
             base_model="LSTM", time_attn=False, windowp=2, windowf=2, hidden=HIDDEN,
             n_classes=1, n_speakers=1, no_cuda=True, lr=0.001, l2=0.00001, dropout=0.5,
             batch_size=32, epochs=100, num_folder=1, seed=66, mask_type="constant-0.2",
             loss_recon=True, reccls_flag=False, lower_bound=False)
    a.update(over)
    return argparse.Namespace(**a)


MASKS = {"complete": (1, 1, 1), "drop_a": (0, 1, 1), "drop_tv": (1, 0, 0)}
current_mask = [None]


def fixed_random_mask(view_num, input_len, missing_rate):
    assert view_num == 3
    return np.tile(np.array(current_mask[0], dtype=np.int64), (input_len, 1))


train_gcnet.random_mask = fixed_random_mask  # train_or_eval_model looks the name up in its module


def build(args, seed):
    torch.manual_seed(seed)
    return train_gcnet.build_model(args, adim, tdim, vdim)


def evaluate(model, args, mask):
    current_mask[0] = MASKS[mask]
    _, _, vidnames, _, saved = train_gcnet.train_or_eval_model(
        args, model, MaskedMSELoss(), MaskedCELoss(), MaskedReconLoss(), loader(test_idxs),
        mask_rate=0.0, optimizer=None, train=False)
    preds = {vid: p[:, 0] for vid, p in zip(vidnames, saved[0])}
    return np.concatenate([preds[vid] for vid in sorted(testVids)]).astype(np.float32)


with open(os.path.join(OUT, "test_uids.txt"), "w") as f:
    for vid in sorted(testVids):
        for uid in videoIDs[vid]:
            f.write(uid + "\n")

args = command_args()
model = build(args, 66)
torch.save(model.state_dict(), os.path.join(OUT, "checkpoint.pth"))
for mask in MASKS:
    np.save(os.path.join(OUT, f"pred_{mask}.npy"), evaluate(model, args, mask))

args_ta = command_args(time_attn=True)
model_ta = build(args_ta, 67)
torch.save(model_ta.state_dict(), os.path.join(OUT, "checkpoint_time_attn.pth"))
np.save(os.path.join(OUT, "pred_time_attn_complete.npy"), evaluate(model_ta, args_ta, "complete"))

# ---------------------------------------------------------------- one training step
args0 = command_args(dropout=0.0)
step_model = train_gcnet.build_model(args0, adim, tdim, vdim)
step_model.load_state_dict(torch.load(os.path.join(OUT, "checkpoint.pth")))
optimizer = optim.Adam(step_model.parameters(), lr=args0.lr, weight_decay=args0.l2)
recorded = {}


class RecordMSE(MaskedMSELoss):
    def forward(self, *a):
        out = super().forward(*a)
        recorded["loss1"] = out.item()
        return out


class RecordRecon(MaskedReconLoss):
    def forward(self, *a):
        out = super().forward(*a)
        recorded["loss2"] = out.item()
        return out


current_mask[0] = MASKS["drop_a"]
train_gcnet.train_or_eval_model(args0, step_model, RecordMSE(), MaskedCELoss(), RecordRecon(), loader(train_idxs),
                                mask_rate=0.0, optimizer=optimizer, train=True)
recorded["loss"] = float(np.float32(recorded["loss1"]) + np.float32(recorded["loss2"]))
STEP_KEYS = ["lstm.weight_ih_l0", "lstm.bias_hh_l1_reverse", "graph_net_temporal.conv1.weight",
             "graph_net_temporal.conv1.root", "graph_net_temporal.conv2.lin_rel.weight",
             "graph_net_speaker.conv2.lin_root.weight", "graph_net_speaker.grufusion.weight_hh_l1",
             "graph_net_temporal.linear.bias", "smax_fc.weight", "linear_rec.weight", "linear_rec.bias"]
params = dict(step_model.named_parameters())
for i, key in enumerate(STEP_KEYS):
    np.save(os.path.join(OUT, f"step_after_{i:02d}.npy"), params[key].detach().numpy())
    np.save(os.path.join(OUT, f"step_grad_{i:02d}.npy"), params[key].grad.numpy())
with open(os.path.join(OUT, "step.json"), "w") as f:
    json.dump({"mask": "drop_a", "split": "train", "keys": STEP_KEYS, "loss1_mse": recorded["loss1"],
               "loss2_recon": recorded["loss2"], "loss": recorded["loss"],
               "optimizer": "Adam(lr=0.001, weight_decay=1e-05)", "dropout": 0.0}, f, indent=1)

# ---------------------------------------------------------------- meta
from graph import batch_graphify  # noqa: E402
mapping = batch_graphify(torch.zeros(2, 1, 1, 4), torch.zeros(1, 2), [2], 1, 2, 2, "temporal", True)[3]
order = [name for name, _ in sorted(mapping.items(), key=lambda kv: kv[1])]
with open(os.path.join(OUT, "meta.json"), "w") as f:
    json.dump({"upstream": "zeroQiaoba/GCNet@8cce4a0", "command": "train_gcnet.py --dataset=CMUMOSI --hidden=12 "
               "--windowp=2 --windowf=2 --base-model=LSTM --loss-recon --lr=0.001 (--time-attn for the second)",
               "python_hash_seed": HASH_SEED, "temporal_relation_order": order,
               "torch": torch.__version__, "torch_geometric": torch_geometric.__version__, "numpy": np.__version__,
               "dims": {"audio": ADIM, "text": TDIM, "visual": VDIM}, "hidden": HIDDEN}, f, indent=1)
print("temporal relation order", order)
print("wrote", OUT)
