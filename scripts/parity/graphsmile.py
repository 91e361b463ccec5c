#!/usr/bin/python3
"""Parity fixtures for merc's graphsmile model, made with the authors' own code.

Upstream: github lijfrank-open/GraphSmile at 96745a22cb001a6bf1f14be4ae51b35e3a6b2c2c
(method_reference.md §0), imported UNCHANGED from a scratch checkout (never copied into merc):

    fetch github:lijfrank-open/GraphSmile, then
    git --git-dir=<mirror> archive 96745a2 | tar -x -C /work/scratch/upstream/GraphSmile

Run (Debian's python3-torch 1.13 + numpy, pandas, scikit-learn; GraphSmile needs no PyG):

    /usr/bin/python3 scripts/parity/graphsmile.py [OUT_DIR] [--upstream DIR] [--commands iemocap,iemocap4,meld,mosei7]

OUT_DIR defaults to tests/fixtures/parity/graphsmile; one subfolder per README command mirrored:

  iemocap/  run.py --dataset IEMOCAP --epochs 120 --textf_mode textf0 --loss_type emo_sen_sft
            --lr 1e-04 --batch_size 16 --hidden_dim 512 --win 17 17 --heter_n_layers 7 7 7
            --drop 0.2 --shift_win 19 --lambd 1.0 1.0 0.7
  iemocap4/ run.py --dataset IEMOCAP4 --epochs 120 --textf_mode textf0 --loss_type emo_sen_sft
            --lr 3e-04 --batch_size 16 --hidden_dim 256 --win 5 5 --heter_n_layers 4 4 4
            --drop 0.2 --shift_win 10 --lambd 1.0 0.6 0.6
  meld/     run.py --dataset MELD --epochs 50 --textf_mode textf0 --loss_type emo_sen_sft
            --lr 7e-05 --batch_size 16 --hidden_dim 384 --win 3 3 --heter_n_layers 5 5 5
            --drop 0.2 --shift_win 3 --lambd 1.0 0.5 0.2
  mosei7/   run.py --dataset CMUMOSEI7 --epochs 60 --textf_mode textf0 --loss_type emo_sen_sft
            --lr 8e-05 --batch_size 32 --hidden_dim 256 --win 5 5 --heter_n_layers 2 2 2
            --drop 0.4 --shift_win 2 --lambd 1.0 0.8 1.0

Every flag is kept except --hidden_dim, shrunk to 16 (a 512-wide model with 3 x 7 graph layers is
~45 MB) -- a size changed only through the upstream's own command-line flag. The input dims are
run.py's (IEMOCAP text 4 x 1024, visual 342, audio 1582; IEMOCAP4 text 1024, visual 512, audio
100; MELD text 4 x 1024, visual 342, audio 300; CMUMOSEI7 text 1024, visual 35, audio 384), and every HeterGConv_Edge keeps its hard-coded 500000 learnable edge weights (no flag
exists), so checkpoint.pth is ~6 MB on disk, almost all of it the 1.0 tail of those vectors
(git stores it compressed to a few kB).

How the model is built: run.py is DDP-only (mp.spawn + NCCL + DistributedDataParallel) and parses
its flags at import, so this script does what run.py's main() does without DDP: the flags as an
argparse Namespace with run.py's names, trainer.seed_everything() (seed 2024), then
model.GraphSmile(args, embedding_dims, n_classes_emo) with run.py's embedding_dims/n_classes for
the dataset, no_cuda=True (CPU). The dataset classes, collate_fn, the loss (trainer.py) and
module.build_match_sen_shift_label are the upstream's own.

Checkpoint: GraphSmile never saves one (run.py only prints and pickles metrics). A user who adds
`torch.save(model.state_dict(), path)` in run.py saves the DistributedDataParallel wrapper's
state_dict, whose keys carry the `module.` prefix; checkpoint.pth is exactly that (the model is
held as `.module` of a wrapper, which gives DDP's key names), a plain OrderedDict saved with
torch.save (zip format). A freshly built model has all-ones edge weights, fresh BatchNorm
statistics and identical layer copies, so before saving every parameter is perturbed with fixed
noise (edge weights: the slots the batches use drawn in [0.5, 1.5]; BatchNorm running stats and
num_batches_tracked set to non-trivial values): every tensor then matters for the outputs.

Files per command folder:
  <DATASET>_features.pkl  the dataset in the upstream's own pickle layout (the tuple its dataset
                          class unpacks; synthetic features quantised to multiples of 1/8;
                          trainVid / testVid lists), read by merc's graphsmile-iemocap /
                          graphsmile-meld readers
  checkpoint.pth          torch.save(DDP-style state_dict)
  eval_prob.npy           (N, C) float32 softmax(logit_emo), model.eval(), the test split through
                          the upstream test loader (testVid order, --batch_size, no shuffle),
                          utterances in batch_to_all_tva order (dialogue after dialogue)
  eval_fused.npy          (N, H) float32 feat_fusion, same order
  step.npz                ONE training step from checkpoint.pth on the train dialogues listed in
                          manifest.json (one batch, in that order), every nn.Dropout p set to 0,
                          model.train() (BatchNorm on batch statistics, padding rows included):
                          losses = [total, emo, sen, sft] float32; grad.<key> gradients before the
                          step; updated.<key> the tensor after trainer.train_or_eval_model's own
                          optimizer.step() with run.py's optimizer AdamW(lr, weight_decay=l2 1e-4,
                          amsgrad=True) (edge weights: the first E + 8 slots only)
  manifest.json           flags, dims, split lengths, step batch, edge counts, the upstream commit

MELD: MELDDataset_BERT reads the annotated sentiments (videoSentiments) while merc derives them
from the emotion with the map of configs/experiments/graphsmile_meld.yaml ([1, -1, 0, 0, 2, 0, 0],
surprise -> none). The synthetic videoSentiments follow that map, and the step batch holds no
surprise utterance, so both sides see the same sentiment targets (forward outputs never depend on
sentiments).
"""

import argparse
import collections
import copy
import json
import os
import pickle
import sys

import numpy as np
import torch

UPSTREAM_COMMIT = "96745a22cb001a6bf1f14be4ae51b35e3a6b2c2c"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HIDDEN = 16  # --hidden_dim, shrunk (see the docstring)

# README commands (flags as run.py names them).
COMMANDS = {
    "iemocap": dict(dataset="IEMOCAP", epochs=120, textf_mode="textf0", loss_type="emo_sen_sft", lr=1e-4,
                    batch_size=16, hidden_dim=HIDDEN, win=[17, 17], heter_n_layers=[7, 7, 7], drop=0.2,
                    shift_win=19, lambd=[1.0, 1.0, 0.7]),
    "iemocap4": dict(dataset="IEMOCAP4", epochs=120, textf_mode="textf0", loss_type="emo_sen_sft", lr=3e-4,
                     batch_size=16, hidden_dim=HIDDEN, win=[5, 5], heter_n_layers=[4, 4, 4], drop=0.2,
                     shift_win=10, lambd=[1.0, 0.6, 0.6]),
    "meld": dict(dataset="MELD", epochs=50, textf_mode="textf0", loss_type="emo_sen_sft", lr=7e-5, batch_size=16,
                 hidden_dim=HIDDEN, win=[3, 3], heter_n_layers=[5, 5, 5], drop=0.2, shift_win=3,
                 lambd=[1.0, 0.5, 0.2]),
    "mosei7": dict(dataset="CMUMOSEI7", epochs=60, textf_mode="textf0", loss_type="emo_sen_sft", lr=8e-5,
                   batch_size=32, hidden_dim=HIDDEN, win=[5, 5], heter_n_layers=[2, 2, 2], drop=0.4, shift_win=2,
                   lambd=[1.0, 0.8, 1.0]),
}
# run.py main(): embedding_dims = [text, visual, audio] and n_classes_emo per dataset.
EMBEDDING_DIMS = {"IEMOCAP": [1024, 342, 1582], "IEMOCAP4": [1024, 512, 100], "MELD": [1024, 342, 300],
                  "CMUMOSEI7": [1024, 35, 384]}
N_CLASSES = {"IEMOCAP": 6, "IEMOCAP4": 4, "MELD": 7, "CMUMOSEI7": 7}
# merc's sentiment map for MELD (configs/experiments/graphsmile_meld.yaml); the others are the loaders'.
MELD_SENTIMENT = [1, -1, 0, 0, 2, 0, 0]
# CMU-MOSEI scores the synthetic utterances draw from: every 7-class bin, its edges and exact 0.
MOSEI_SCORES = [-3.0, -2.5, -2.0, -1.5, -1.0, -0.4, 0.0, 0.0, 0.3, 1.0, 1.6, 2.0, 2.6]

# Test split: one full batch of dialogues (one longer than the graph window and the shift chunk,
# so both cut it) and 2 more in the second batch (edge positions restart there).
TEST_LENGTHS = {
    "iemocap": [2, 21, 1, 3, 2, 1, 2, 3, 1, 2, 2, 1, 3, 2, 1, 2, 3, 2],
    "meld": [2, 21, 1, 3, 2, 1, 2, 3, 1, 2, 2, 1, 3, 2, 1, 2, 3, 2],
    "iemocap4": [2, 13, 1, 3, 2, 1, 2, 3, 1, 2, 2, 1, 3, 2, 1, 2, 3, 2],
    "mosei7": [2, 9] + [1, 2, 3] * 10 + [3, 2],
}
# Train split: the step batch is its first 4 dialogues (different lengths: padding in the batch).
TRAIN_LENGTHS = [7, 3, 1, 5, 2]
STEP_DIALOGUES = 4


def run_py_args(cmd):
    """The argparse Namespace run.py builds for the README command (its defaults for the rest)."""
    a = dict(no_cuda=True, gpu="2", port="15301", classify="emotion", l2=0.0001, tensorboard=False, modals="avl",
             conv_fpo=[3, 1, 1])
    a.update(cmd)
    return argparse.Namespace(**a)


def quantised(rng, shape):
    return (np.round(rng.standard_normal(shape) * 8.0) / 8.0).astype(np.float32)


def make_dataset(dataset, test_lengths, rng):
    """The upstream pickle tuple for `dataset` and the (train, test) vid lists."""
    dims = EMBEDDING_DIMS[dataset]
    C = N_CLASSES[dataset]
    if dataset == "MELD":
        train = list(range(10, 10 + len(TRAIN_LENGTHS)))
        test = list(range(1100, 1100 + len(test_lengths)))
    else:
        train = ["Ses01F_impro%02d" % i for i in range(1, len(TRAIN_LENGTHS) + 1)]
        test = ["Ses05M_script%02d" % i for i in range(1, len(test_lengths) + 1)]
    lengths = dict(zip(train + test, TRAIN_LENGTHS + test_lengths))
    ids, speakers, labels, sentiments, sentences = {}, {}, {}, {}, {}
    n_text = 1 if dataset in ("IEMOCAP4", "CMUMOSEI7") else 4
    text = [{} for _ in range(n_text)]
    audio, visual = {}, {}
    for d, vid in enumerate(train + test):
        L = lengths[vid]
        ids[vid] = ["%s_%d" % (vid, u) for u in range(L)]
        if dataset == "CMUMOSEI7":
            labels[vid] = [MOSEI_SCORES[(3 * d + 5 * u) % len(MOSEI_SCORES)] for u in range(L)]
        else:
            lab = [int((3 * d + 5 * u) % C) for u in range(L)]
            if dataset == "MELD" and vid in train[:STEP_DIALOGUES]:
                lab = [x if x != 1 else 4 for x in lab]  # no surprise in the step batch (see the docstring)
            labels[vid] = lab
        if dataset == "MELD":
            speakers[vid] = [[1 if k == (d + u) % 4 else 0 for k in range(9)] for u in range(L)]
            sentiments[vid] = [MELD_SENTIMENT[x] if MELD_SENTIMENT[x] >= 0 else 2 * (u % 2)
                               for u, x in enumerate(labels[vid])]
        else:
            speakers[vid] = ["M" if (d + u) % 3 else "F" for u in range(L)]
        sentences[vid] = ["utterance %d of %s" % (u, vid) for u in range(L)]
        for k in range(n_text):
            text[k][vid] = quantised(rng, (L, dims[0]))
        visual[vid] = quantised(rng, (L, dims[1]))
        audio[vid] = quantised(rng, (L, dims[2]))
    if dataset == "IEMOCAP":
        # IEMOCAPDataset_BERT: (videoIDs, videoSpeakers, videoLabels, videoText0..3, videoAudio,
        # videoVisual, videoSentence, trainVid, testVid)
        tup = (ids, speakers, labels, *text, audio, visual, sentences, train, test)
    elif dataset == "MELD":
        # MELDDataset_BERT: (videoIDs, videoSpeakers, videoLabels, videoSentiments, videoText0..3,
        # videoAudio, videoVisual, videoSentence, trainVid, testVid, _)
        tup = (ids, speakers, labels, sentiments, *text, audio, visual, sentences, train, test, None)
    else:
        # IEMOCAPDataset_BERT4 / CMUMOSEIDataset7: (videoIDs, videoSpeakers, videoLabels, videoText,
        # videoAudio, videoVisual, videoSentence, trainVid, testVid)
        tup = (ids, speakers, labels, text[0], audio, visual, sentences, train, test)
    return tup, train, test


class DDPLike(torch.nn.Module):
    """Holds the model as `.module`, as DistributedDataParallel does: the same state_dict keys."""

    def __init__(self, module):
        super().__init__()
        self.module = module


def perturb(model, gen, max_edges):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("edge_weight"):
                p[:max_edges] = 0.5 + torch.rand(max_edges, generator=gen)
            else:
                scale = float(p.std()) if p.numel() > 1 else 0.1
                p.add_(0.5 * max(scale, 0.05) * torch.randn(p.shape, generator=gen))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.2 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.5 + 1.5 * torch.rand(b.shape, generator=gen))
            elif name.endswith("num_batches_tracked"):
                b.fill_(37)


def batch_forward(model, data):
    """trainer.train_or_eval_model's forward and loss inputs for one collated batch (cuda=False)."""
    textf0, textf1, textf2, textf3, visuf, acouf, qmask, umask, label_emotion, label_sentiment = data[:-1]
    dia_lengths, label_emotions, label_sentiments = [], [], []
    for j in range(umask.size(1)):
        dia_lengths.append((umask[:, j] == 1).nonzero().tolist()[-1][0] + 1)
        label_emotions.append(label_emotion[:dia_lengths[j], j])
        label_sentiments.append(label_sentiment[:dia_lengths[j], j])
    out = model(textf0, textf1, textf2, textf3, visuf, acouf, umask, qmask, dia_lengths)
    return out, dia_lengths, torch.cat(label_emotions), torch.cat(label_sentiments)


def step_losses(model, data, args, build_match_sen_shift_label):
    """The emo_sen_sft loss exactly as trainer.train_or_eval_model computes it."""
    import torch.nn.functional as F
    (logit_emo, logit_sen, logit_sft, _), dia_lengths, label_emo, label_sen = batch_forward(model, data)
    nll = torch.nn.NLLLoss()
    loss_emo = nll(F.log_softmax(logit_emo, -1), label_emo)
    loss_sen = nll(F.log_softmax(logit_sen, -1), label_sen)
    label_sft = build_match_sen_shift_label(args.shift_win, dia_lengths, label_sen)
    loss_sft = nll(F.log_softmax(logit_sft, -1), label_sft)
    lambd = args.lambd
    loss = lambd[0] * loss_emo + lambd[1] * loss_sen + lambd[2] * loss_sft
    return loss, loss_emo, loss_sen, loss_sft


def edge_count(lengths, win_p, win_f, num_modal=2):
    e = 0
    for L in lengths:
        for j in range(L):
            lo = 0 if win_p == -1 else max(0, j - win_p)
            hi = L - 1 if win_f == -1 else min(L - 1, j + win_f)
            e += hi - lo + 1
    return e * num_modal * (num_modal - 1)


def step_keys(args):
    """The tensors whose gradient and updated value the fixture keeps (first and last graph layers)."""
    keys = ["dim_layer_t.0.weight", "dim_layer_t.0.bias", "dim_layer_v.0.weight", "dim_layer_a.0.bias",
            "batchnorms_t.0.weight", "batchnorms_t.0.bias", "batchnorms_t.0.running_mean",
            "batchnorms_t.0.running_var", "batchnorms_t.0.num_batches_tracked"]
    for pair, n in zip(("tv", "ta", "va"), args.heter_n_layers):
        keys.append("hetergconv_%s.edge_weight" % pair)
    keys += ["hetergconv_tv.hetergcn_layers.0.hetergconv.weight",
             "hetergconv_ta.hetergcn_layers.%d.hetergconv.bias" % (args.heter_n_layers[1] - 1),
             "hetergconv_va.fc_layers.%d.0.weight" % (args.heter_n_layers[2] - 1), "hetergconv_tv.fc_layers.0.0.bias",
             "modal_fusion.0.weight", "emo_output.weight", "emo_output.bias", "sen_output.weight",
             "senshift.shift_output_layer.0.weight"]
    return keys


def make_command(name, out_dir, upstream):
    import dataloader as up_data
    import model as up_model
    import trainer as up_trainer
    from module import build_match_sen_shift_label
    from torch.utils.data import DataLoader

    args = run_py_args(COMMANDS[name])
    dataset = args.dataset
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20240 + len(name))
    test_lengths = TEST_LENGTHS[name]
    tup, train, test = make_dataset(dataset, test_lengths, rng)
    pkl = os.path.join(out_dir, "%s_features.pkl" % dataset)
    with open(pkl, "wb") as f:
        pickle.dump(tup, f, protocol=4)

    # run.py main(): seed_everything(); model = GraphSmile(args, embedding_dims, n_classes_emo)
    up_trainer.seed_everything()
    model = up_model.GraphSmile(args, EMBEDDING_DIMS[dataset], N_CLASSES[dataset])
    gen = torch.Generator().manual_seed(7 + len(name))
    batches = [test_lengths[i:i + args.batch_size] for i in range(0, len(test_lengths), args.batch_size)]
    batches.append(TRAIN_LENGTHS[:STEP_DIALOGUES])
    edges = [edge_count(b, args.win[0], args.win[1]) for b in batches]
    perturb(model, gen, max(edges))

    # The checkpoint, as torch.save(ddp_model.state_dict()) writes it.
    state = DDPLike(model).state_dict()
    assert all(k.startswith("module.") for k in state)
    ckpt = os.path.join(out_dir, "checkpoint.pth")
    torch.save(state, ckpt)

    # Reload into a fresh model the way a user would (strip module.), then evaluate.
    loaded = torch.load(ckpt)
    up_trainer.seed_everything()
    model = up_model.GraphSmile(args, EMBEDDING_DIMS[dataset], N_CLASSES[dataset])
    model.load_state_dict(collections.OrderedDict((k[len("module."):], v) for k, v in loaded.items()))
    dataset_class = {"IEMOCAP": up_data.IEMOCAPDataset_BERT, "IEMOCAP4": up_data.IEMOCAPDataset_BERT4,
                     "MELD": up_data.MELDDataset_BERT, "CMUMOSEI7": up_data.CMUMOSEIDataset7}[dataset]
    testset = dataset_class(pkl, train=False)
    test_loader = DataLoader(testset, batch_size=args.batch_size, collate_fn=testset.collate_fn, num_workers=0)
    model.eval()
    probs, fused = [], []
    with torch.no_grad():
        for data in test_loader:
            (logit_emo, _, _, feat), _, _, _ = batch_forward(model, data)
            probs.append(torch.softmax(logit_emo, -1))
            fused.append(feat)
    probs = torch.cat(probs).numpy().astype(np.float32)
    fused = torch.cat(fused).numpy().astype(np.float32)
    assert probs.shape[0] == sum(test_lengths)
    np.save(os.path.join(out_dir, "eval_prob.npy"), probs)
    np.save(os.path.join(out_dir, "eval_fused.npy"), fused)

    # One training step on the first STEP_DIALOGUES train dialogues, dropout off.
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    trainset = dataset_class(pkl, train=True)
    step_indices = list(range(STEP_DIALOGUES))
    step_loader = DataLoader(trainset, batch_size=STEP_DIALOGUES, sampler=step_indices,
                             collate_fn=trainset.collate_fn, num_workers=0)
    (data,) = list(step_loader)
    step_edges = edge_count(TRAIN_LENGTHS[:STEP_DIALOGUES], args.win[0], args.win[1])

    # (a) loss and gradients on a copy (a train-mode forward moves the BatchNorm running stats).
    probe = copy.deepcopy(model)
    probe.train()
    loss, loss_emo, loss_sen, loss_sft = step_losses(probe, data, args, build_match_sen_shift_label)
    loss.backward()
    grads = dict(probe.named_parameters())
    # (b) the step itself through the upstream trainer with run.py's optimizer.
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.l2, amsgrad=True)
    nll = torch.nn.NLLLoss()
    up_trainer.train_or_eval_model(model, nll, nll, nll, step_loader, 0, False, args.modals, optimizer, True, dataset,
                                   args.loss_type, args.lambd, args.epochs, args.classify, args.shift_win)
    after = model.state_dict()
    step = {"losses": np.array([loss.item(), loss_emo.item(), loss_sen.item(), loss_sft.item()], np.float32)}
    for key in step_keys(args):
        t = after[key].detach().clone()
        g = grads[key].grad if key in grads else None
        if key.endswith("edge_weight"):
            t = t[:step_edges + 8]
            g = g[:step_edges + 8]
        step["updated." + key] = t.numpy() if t.dtype != torch.int64 else t.numpy().astype(np.int64)
        if g is not None:
            step["grad." + key] = g.numpy().astype(np.float32)
    np.savez(os.path.join(out_dir, "step.npz"), **step)

    manifest = dict(
        upstream="lijfrank-open/GraphSmile@" + UPSTREAM_COMMIT,
        command=name,
        run_py_flags={k: v for k, v in vars(args).items()},
        hidden_dim_note="--hidden_dim shrunk from the README's value to %d" % HIDDEN,
        embedding_dims_text_visual_audio=EMBEDDING_DIMS[dataset],
        n_classes=N_CLASSES[dataset],
        train_vids=[str(v) for v in train],
        test_vids=[str(v) for v in test],
        train_lengths=TRAIN_LENGTHS,
        test_lengths=test_lengths,
        eval_batches=batches[:-1],
        eval_edges=edges[:-1],
        step_vids=[str(v) for v in train[:STEP_DIALOGUES]],
        step_edges=step_edges,
        step_losses=[float(x) for x in step["losses"]],
        checkpoint_keys=len(state),
        torch=torch.__version__,
    )
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("%s: %d test utterances, loss %.6f, files in %s" % (name, probs.shape[0], loss.item(), out_dir))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default=os.path.join(REPO_ROOT, "tests", "fixtures", "parity", "graphsmile"))
    ap.add_argument("--upstream", default=os.environ.get("GRAPHSMILE_DIR", "/work/scratch/upstream/GraphSmile"))
    ap.add_argument("--commands", default="iemocap,iemocap4,meld,mosei7")
    a = ap.parse_args()
    sys.path.insert(0, a.upstream)
    torch.set_num_threads(1)
    for name in a.commands.split(","):
        make_command(name, os.path.join(a.out, name), a.upstream)


if __name__ == "__main__":
    main()
