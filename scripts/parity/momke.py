#!/usr/bin/python3
"""Parity fixtures for merc's `momke` model from the authors' code.

Upstream: wxxv/MoMKE @ 2dceb57 (method_reference.md §0), imported UNCHANGED from a scratch copy
(never committed):
    git --git-dir=<mirror of wxxv/MoMKE> archive 2dceb57 MoMKE config.py | tar -x -C /work/scratch/upstream/MoMKE
Command mirrored (run_MoMKE_cmumosi.sh, the published CMU-MOSI commands; they differ only in
--test_condition, of which the fixture uses atv, tv and a):
    python -u MoMKE/train_MoMKE.py --dataset=CMUMOSI --audio-feature=wav2vec-large-c-UTT
        --text-feature=deberta-large-4-UTT --video-feature=manet_UTT --seed=66 --batch-size=32
        --epoch=300 --lr=0.0001 --hidden=256 --depth=4 --num_heads=2 --drop_rate=0.5
        --attn_drop_rate=0.0 --test_condition=<atv|tv|a|...> --stage_epoch=150 --gpu=0
with ONE size shrunk through the script's own argument: --hidden 32 (the fixture budget is ~3 MB).
The features are synthetic (dims 12/20/8; the dims come from the data, not an argument).

What it writes (default tests/fixtures/parity/momke/):
  CMUMOSI_features_raw_2way.pkl, features/{audio,text,visual}/   the dataset (imer_mosi_data.py)
  momke_mosi.pth         torch.save(model.state_dict()) of MoMKE built by utils.build_model after
                         seed_torch(66), as train_MoMKE.py does (the repository saves no checkpoint)
  forward/stage0_complete.npy, forward/stage1_{complete,no_audio,audio_only}.npy
                         eval-mode regression outputs, one per real test utterance, in the order
                         sorted(testVids), utterances in order, batches of EVAL_BATCH consecutive
                         dialogues; computed by upstream train_or_eval_model(train=False) itself (a
                         forward hook captures `out`). stage0 = first_stage=True, where
                         generate_mask keeps every modality whatever the condition; stage 1 with
                         --test_condition atv / tv / a
  step_stage0/, step_stage1/
                         ONE training step of train_or_eval_model(train=True) on the first
                         STEP_BATCH train dialogues from the checkpoint weights with dropout
                         disabled (model rebuilt with --drop_rate 0, same weights loaded),
                         Adam(lr 1e-4, weight_decay 1e-5) as train_MoMKE.py builds it; stage 1
                         with --test_condition tv (audio missing):
      loss.npy           float64 [value of every tensor .backward() was called on]: stage 0 the
                         three unimodal losses (three backward calls, one step), stage 1 one
      after.pth          the whole state_dict after optimizer.step()
  meta.json              seeds, batches, utterance order, versions

Run:  PYTHONPATH= /usr/bin/python3 scripts/parity/momke.py [OUT_DIR] [--upstream DIR]
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
UPSTREAM_COMMIT = "2dceb57"
SEED = 66
EVAL_BATCH = 3
STEP_BATCH = 3
STEP_CONDITION = "tv"


def published_args(hidden, drop_rate, test_condition):
    """The argparse Namespace train_MoMKE.py builds for the published command (all its defaults)."""
    a = argparse.Namespace(
        audio_feature="wav2vec-large-c-UTT", text_feature="deberta-large-4-UTT", video_feature="manet_UTT",
        dataset="CMUMOSI", time_attn=False, depth=4, num_heads=2, drop_rate=drop_rate, attn_drop_rate=0.0,
        hidden=hidden, n_classes=2, n_speakers=2, no_cuda=False, gpu=0, lr=0.0001, l2=0.00001, batch_size=32,
        epochs=300, num_folder=5, seed=SEED, test_condition=test_condition, stage_epoch=150)
    a.device = torch.device("cpu")
    a.num_folder, a.n_classes, a.n_speakers = 1, 1, 1  # train_MoMKE.py, dataset == 'CMUMOSI'
    return a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default=os.path.join(REPO, "tests/fixtures/parity/momke"))
    ap.add_argument("--upstream", default="/work/scratch/upstream/MoMKE")
    ap.add_argument("--hidden", type=int, default=32)
    opts = ap.parse_args()
    out = opts.out
    data = imer_mosi_data.fresh_dataset(out)

    sys.path.insert(0, opts.upstream)
    sys.path.insert(0, os.path.join(opts.upstream, "MoMKE"))
    import train_MoMKE  # noqa: E402  (upstream, unchanged)
    from dataloader_cmumosi import CMUMOSIDataset  # noqa: E402
    from loss import MaskedCELoss, MaskedMSELoss  # noqa: E402
    from utils import build_model  # noqa: E402

    args = published_args(opts.hidden, 0.5, "atv")
    imer_mosi_data.seed_torch(args.seed)
    dataset = imer_mosi_data.open_upstream_dataset(CMUMOSIDataset, data)
    adim, tdim, vdim = dataset.get_featDim()
    model = build_model(args, adim, tdim, vdim)
    torch.save(model.state_dict(), os.path.join(out, "momke_mosi.pth"))
    state = {k: v.clone() for k, v in model.state_dict().items()}

    def batches(vids, size):
        return imer_mosi_data.upstream_batches(dataset, vids, size)

    # ---------------- eval-mode outputs
    captured = []
    model.register_forward_hook(lambda mod, inp, outp: captured.append((outp[1].detach().clone(), inp[2].clone())))
    os.makedirs(os.path.join(out, "forward"), exist_ok=True)
    order = []
    for vid in data["test_vids"]:
        order.extend(dataset.videoIDs[vid])
    cases = [(0, "complete", "atv"), (1, "complete", "atv"), (1, "no_audio", "tv"), (1, "audio_only", "a")]
    for stage, name, condition in cases:
        args.test_condition = condition
        captured.clear()
        train_MoMKE.train_or_eval_model(args, model, MaskedMSELoss(), MaskedCELoss(),
                                        batches(data["test_vids"], EVAL_BATCH), optimizer=None, train=False,
                                        first_stage=stage == 0, mark="test")
        values = []
        for o, umask in captured:
            for b in range(o.shape[0]):
                values.extend(o[b, umask[b] > 0, 0].tolist())
        assert len(values) == len(order)
        np.save(os.path.join(out, "forward", "stage%d_%s.npy" % (stage, name)), np.array(values, np.float32))

    # ---------------- one training step per stage, dropout disabled
    step_vids = data["train_vids"][:STEP_BATCH]
    recorded = []
    genuine_backward = torch.Tensor.backward

    def recording_backward(self, *a, **k):
        recorded.append(float(self.detach().double()))
        return genuine_backward(self, *a, **k)

    for stage in (0, 1):
        d = os.path.join(out, "step_stage%d" % stage)
        os.makedirs(d)
        args_step = published_args(opts.hidden, 0.0, STEP_CONDITION)
        m = build_model(args_step, adim, tdim, vdim)
        m.load_state_dict(state)
        optimizer = torch.optim.Adam([{"params": m.parameters(), "lr": args_step.lr, "weight_decay": args_step.l2}])
        recorded.clear()
        torch.Tensor.backward = recording_backward
        try:
            train_MoMKE.train_or_eval_model(args_step, m, MaskedMSELoss(), MaskedCELoss(),
                                            batches(step_vids, STEP_BATCH), optimizer=optimizer, train=True,
                                            first_stage=stage == 0, mark="train")
        finally:
            torch.Tensor.backward = genuine_backward
        np.save(os.path.join(d, "loss.npy"), np.array(recorded, np.float64))
        torch.save(m.state_dict(), os.path.join(d, "after.pth"))

    meta = {
        "upstream": "wxxv/MoMKE@" + UPSTREAM_COMMIT,
        "command": "MoMKE/train_MoMKE.py --dataset=CMUMOSI --seed=66 --batch-size=32 --epoch=300 --lr=0.0001 "
                   "--hidden=256 --depth=4 --num_heads=2 --drop_rate=0.5 --attn_drop_rate=0.0 "
                   "--test_condition=<atv|tv|a> --stage_epoch=150",
        "shrunk": {"hidden": opts.hidden},
        "dims": imer_mosi_data.DIMS,
        "eval_batch": EVAL_BATCH,
        "test_order": order,
        "step_batch": step_vids,
        "step_stage1_condition": STEP_CONDITION,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
