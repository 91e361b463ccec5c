#!/usr/bin/python3
"""Parity fixtures for merc's `comp` model from the authors' code.

Upstream: WenjueHE/2026-AAAI-ComP @ 28192d3 (method_reference.md §0), imported UNCHANGED from a
scratch copy (never committed):
    git --git-dir=<mirror of WenjueHE/2026-AAAI-ComP> archive 28192d3 | tar -x -C /work/scratch/upstream/2026-AAAI-ComP
Command mirrored (README, the published CMU-MOSI command):
    python -u ComP/train_mr.py --dataset=CMUMOSI --audio-feature=wav2vec-large-c-UTT
        --text-feature=deberta-large-4-UTT --video-feature=manet_UTT --seed=66 --batch-size=32
        --epoch=300 --lr=0.0001 --hidden=256 --depth=4 --num_heads=2 --drop_rate=0.5
        --attn_drop_rate=0.0 --stage_epoch=150 --gpu=2 --mask_rate=0.7 --lbd=0.3
with ONE size shrunk through the script's own argument: --hidden 32 (at 256 the checkpoint of the
synthetic feature dims is ~10 MB; the fixture budget is ~3 MB). seq_len 65 (train_mr.py sets it
for CMUMOSI), prompt_dim 16 and n_proto 10 (hard-coded) are as published. The features are
synthetic (dims 12/20/8 instead of 512/1024/1024: the dims come from the data, not an argument).

What it writes (default tests/fixtures/parity/comp/):
  CMUMOSI_features_raw_2way.pkl, features/{audio,text,visual}/   the dataset (imer_mosi_data.py)
  comp_mosi.pth          torch.save(model.state_dict()) of ComP built by utils.build_model after
                         seed_torch(66), as train_mr.py does (the repository itself never saves a
                         checkpoint: this is the plain state_dict, zip format, torch 1.13)
  forward/stage{0,1}_{complete,no_audio,audio_only}.npy
                         eval-mode regression outputs, one per real test utterance, in the order
                         sorted(testVids), utterances in order, batches of EVAL_BATCH consecutive
                         dialogues; computed by upstream train_or_eval_model(train=False) itself
                         (a forward hook captures `out`). stage0 = first_stage=True.
                         Masks: complete = mask_rate 0 (random_mask returns all ones);
                         no_audio / audio_only: random_mask is replaced (in train_mr's namespace
                         only) by a function returning the fixed keep matrix (t,v) / (a)
  step_stage{0,1}/       ONE training step of train_or_eval_model(train=True) on the first
                         STEP_BATCH train dialogues from the checkpoint weights with dropout
                         disabled (the model rebuilt with --drop_rate 0 --attn_drop_rate 0, same
                         weights loaded), Adam(lr 1e-4, weight_decay 1e-5) as train_mr.py builds it,
                         masks drawn by the upstream random_mask at mask_rate 0.7 from
                         np.random.seed(MASK_SEED):
      mask.npy           (B, T, 3) float32 keep mask (a, t, v) of the batch as upstream applied it
                         (host matrix reshaped (batch, seqlen) as train_mr.py does, cropped to T)
      noise.npy          stage 0 only: the private-branch target clamp(1.5 randn, -3, 3) drawn by
                         torch.randn_like(labels_) after torch.manual_seed(NOISE_SEED), (B * 65)
      loss.npy           float64 [value of every tensor .backward() was called on] (ComP: one)
      after.pth          the whole state_dict after optimizer.step()
  meta.json              seeds, batches, utterance order, versions

Run:  PYTHONPATH= /usr/bin/python3 scripts/parity/comp.py [OUT_DIR] [--upstream DIR]
Needs numpy, torch (Debian python3-torch 1.13), sklearn, pandas, tqdm (the upstream imports).
"""
import argparse
import json
import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0":  # the label pickle holds sets: fixed iteration order
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import imer_mosi_data  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
UPSTREAM_COMMIT = "28192d3"
SEED = 66
EVAL_BATCH = 3   # 5 test dialogues -> batches of 3 + 2 (published --batch-size 32 would make one)
STEP_BATCH = 3   # the first 3 train dialogues (lengths 5, 9, 3)
MASK_SEED = 7
NOISE_SEED = 11
MASK_RATE = 0.7


def published_args(hidden, drop_rate, attn_drop_rate):
    """The argparse Namespace train_mr.py builds for the published command (all its defaults)."""
    a = argparse.Namespace(
        audio_feature="wav2vec-large-c-UTT", text_feature="deberta-large-4-UTT", video_feature="manet_UTT",
        dataset="CMUMOSI", time_attn=False, depth=4, num_heads=2, drop_rate=drop_rate,
        attn_drop_rate=attn_drop_rate, hidden=hidden, n_classes=2, n_speakers=2, no_cuda=False, gpu=2,
        lr=0.0001, l2=0.00001, batch_size=32, epochs=300, num_folder=5, seed=SEED, stage_epoch=150,
        lbd=0.3, mask_rate=MASK_RATE)
    a.device = torch.device("cpu")
    # train_mr.py, dataset == 'CMUMOSI':
    a.num_folder, a.n_classes, a.n_speakers, a.seq_len = 1, 1, 1, 65
    return a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default=os.path.join(REPO, "tests/fixtures/parity/comp"))
    ap.add_argument("--upstream", default="/work/scratch/upstream/2026-AAAI-ComP")
    ap.add_argument("--hidden", type=int, default=32)
    opts = ap.parse_args()
    out = opts.out
    data = imer_mosi_data.fresh_dataset(out)

    sys.path.insert(0, opts.upstream)
    sys.path.insert(0, os.path.join(opts.upstream, "ComP"))
    import train_mr  # noqa: E402  (upstream, unchanged)
    from dataloader_cmumosi import CMUMOSIDataset  # noqa: E402
    from loss import MaskedCELoss, MaskedMSELoss  # noqa: E402
    from utils import build_model  # noqa: E402
    train_mr.device = torch.device("cpu")  # a global of train_mr's __main__ block

    args = published_args(opts.hidden, 0.5, 0.0)
    imer_mosi_data.seed_torch(args.seed)
    dataset = imer_mosi_data.open_upstream_dataset(CMUMOSIDataset, data)
    adim, tdim, vdim = dataset.get_featDim()
    model = build_model(args, adim, tdim, vdim)
    torch.save(model.state_dict(), os.path.join(out, "comp_mosi.pth"))
    state = {k: v.clone() for k, v in model.state_dict().items()}

    def batches(vids, size):
        return imer_mosi_data.upstream_batches(dataset, vids, size)

    # ---------------- eval-mode outputs under fixed masks, both stages
    captured = []
    model.register_forward_hook(lambda mod, inp, outp: captured.append((outp[1].detach().clone(), inp[3].clone())))
    genuine_random_mask = train_mr.random_mask

    def fixed_mask(keep):
        def random_mask(view_num, input_len, missing_rate):
            return np.tile(np.array(keep, dtype=np.int64), (input_len, 1))
        return random_mask

    masks = {"complete": None, "no_audio": (0, 1, 1), "audio_only": (1, 0, 0)}
    os.makedirs(os.path.join(out, "forward"), exist_ok=True)
    order = []
    for vid in data["test_vids"]:
        order.extend(dataset.videoIDs[vid])
    for stage, first_stage in ((0, True), (1, False)):
        for name, keep in masks.items():
            train_mr.random_mask = genuine_random_mask if keep is None else fixed_mask(keep)
            captured.clear()
            train_mr.train_or_eval_model(args, model, MaskedMSELoss(), MaskedCELoss(),
                                         batches(data["test_vids"], EVAL_BATCH), total_sqlen=args.seq_len,
                                         optimizer=None, train=False, first_stage=first_stage, mark="test",
                                         mask_rate=0.0 if keep is None else MASK_RATE)
            values = []
            for o, umask in captured:
                for b in range(o.shape[0]):
                    values.extend(o[b, umask[b] > 0, 0].tolist())
            assert len(values) == len(order)
            np.save(os.path.join(out, "forward", "stage%d_%s.npy" % (stage, name)), np.array(values, np.float32))
    train_mr.random_mask = genuine_random_mask

    # ---------------- one training step per stage, dropout disabled
    step_vids = data["train_vids"][:STEP_BATCH]
    recorded = []
    genuine_backward = torch.Tensor.backward

    def recording_backward(self, *a, **k):
        recorded.append(float(self.detach().double()))
        return genuine_backward(self, *a, **k)

    for stage, first_stage in ((0, True), (1, False)):
        d = os.path.join(out, "step_stage%d" % stage)
        os.makedirs(d)
        args_step = published_args(opts.hidden, 0.0, 0.0)
        m = build_model(args_step, adim, tdim, vdim)
        m.load_state_dict(state)
        optimizer = torch.optim.Adam([{"params": m.parameters(), "lr": args_step.lr, "weight_decay": args_step.l2}])
        batch = batches(step_vids, STEP_BATCH)
        B, T = batch[0][0].size(1), batch[0][0].size(0)
        noise = []
        genuine_randn_like = torch.randn_like

        def recording_randn_like(*a, **k):
            r = genuine_randn_like(*a, **k)
            noise.append(r.clone())
            return r

        recorded.clear()
        torch.Tensor.backward = recording_backward
        train_mr.torch.randn_like = recording_randn_like
        np.random.seed(MASK_SEED)
        torch.manual_seed(NOISE_SEED)
        try:
            train_mr.train_or_eval_model(args_step, m, MaskedMSELoss(), MaskedCELoss(), batch,
                                         total_sqlen=args_step.seq_len, optimizer=optimizer, train=True,
                                         first_stage=first_stage, mark="train", mask_rate=MASK_RATE)
        finally:
            torch.Tensor.backward = genuine_backward
            train_mr.torch.randn_like = genuine_randn_like
        # The mask train_or_eval_model drew: replay the numpy stream (host matrix first).
        np.random.seed(MASK_SEED)
        host = genuine_random_mask(3, args_step.seq_len * B, MASK_RATE)
        mask = host.reshape(B, args_step.seq_len, 3)[:, :T, :].astype(np.float32)
        np.save(os.path.join(d, "mask.npy"), mask)
        np.save(os.path.join(d, "loss.npy"), np.array(recorded, np.float64))
        if first_stage:
            assert len(noise) == 1, len(noise)
            # The draw is the first use of the torch generator after the seed (no dropout at p = 0).
            torch.manual_seed(NOISE_SEED)
            assert torch.equal(noise[0], torch.randn(B * args_step.seq_len))
            np.save(os.path.join(d, "noise.npy"), (noise[0] * 1.5).clamp(-3, 3).numpy().astype(np.float32))
        torch.save(m.state_dict(), os.path.join(d, "after.pth"))

    meta = {
        "upstream": "WenjueHE/2026-AAAI-ComP@" + UPSTREAM_COMMIT,
        "command": "ComP/train_mr.py --dataset=CMUMOSI --seed=66 --batch-size=32 --epoch=300 --lr=0.0001 "
                   "--hidden=256 --depth=4 --num_heads=2 --drop_rate=0.5 --attn_drop_rate=0.0 --stage_epoch=150 "
                   "--mask_rate=0.7 --lbd=0.3",
        "shrunk": {"hidden": opts.hidden},
        "seq_len": 65,
        "dims": imer_mosi_data.DIMS,
        "eval_batch": EVAL_BATCH,
        "test_order": order,
        "step_batch": step_vids,
        "mask_seed": MASK_SEED,
        "noise_seed": NOISE_SEED,
        "mask_rate": MASK_RATE,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
