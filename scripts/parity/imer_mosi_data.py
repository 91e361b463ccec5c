"""Shared by scripts/parity/comp.py and scripts/parity/momke.py: a tiny synthetic CMU-MOSI dataset
in the on-disk layout of GCNet / MoMKE / ComP (method_reference.md §1.4; docs/data_formats.md
"gcnet-labels"), which both the upstream CMUMOSIDataset and merc's gcnet_labels + feature_folders
readers read:

  CMUMOSI_features_raw_2way.pkl   list of 7: videoIDs {vid: [uid]}, videoLabels {vid: [np.float64]},
                                  videoSpeakers {vid: ['']}, videoSentences {vid: [str]},
                                  trainVids, valVids, testVids (Python sets); pickle protocol 4
  features/audio/<uid>.npy        [1, D_a] float32 (squeezed to [D_a] by both readers)
  features/text/<uid>.npy         [D_t] float32
  features/visual/<uid>/<k>.npy   per-face [D_v] float32 files, averaged by both readers; values are
                                  multiples of 1/64 so the mean is exact in float32 and float64
                                  (numpy averages in float64, merc in float32). Every utterance
                                  has 1-3 faces: the upstream reader np.loads every file of the
                                  folder, and git cannot hold an empty one

Deterministic for a given seed (run under PYTHONHASHSEED=0 so the sets pickle in a fixed order).
Not upstream code.
"""
import os
import pickle
import random
import shutil

import numpy as np

# Dialogue lengths per partition (MOSI's seq_len is 65; the longest here is 12).
TRAIN_LENGTHS = [5, 9, 3, 12]
VALID_LENGTHS = [4]
TEST_LENGTHS = [7, 2, 11, 1, 6]
DIMS = {"audio": 12, "text": 20, "visual": 8}


def seed_torch(seed):
    """train_mr.py's and train_MoMKE.py's seed_torch (the same function in both repositories)."""
    import torch
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def open_upstream_dataset(dataset_cls, data):
    """The upstream CMUMOSIDataset (ComP's and MoMKE's are the same reader) over write_dataset's files."""
    return dataset_cls(label_path=data["label_path"], audio_root=data["audio_root"],
                       text_root=data["text_root"], video_root=data["video_root"])


def upstream_batches(dataset, vids, size):
    """Consecutive batches of `size` videos in `vids` order through the upstream collate_fn."""
    index = {vid: i for i, vid in enumerate(dataset.vids)}
    return [dataset.collate_fn([dataset[index[v]] for v in vids[i:i + size]]) for i in range(0, len(vids), size)]


def fresh_dataset(out):
    """Empties `out` and writes the dataset into it; returns write_dataset's paths."""
    if os.path.isdir(out):
        shutil.rmtree(out)
    return write_dataset(out)


def write_dataset(out, seed=1234):
    rng = np.random.RandomState(seed)
    parts = {}
    video_ids, labels, speakers, sentences = {}, {}, {}, {}
    names = []
    for part, lengths in (("train", TRAIN_LENGTHS), ("valid", VALID_LENGTHS), ("test", TEST_LENGTHS)):
        vids = []
        for k, n in enumerate(lengths):
            vid = "%s_vid%02d" % (part, k)  # sorted() keeps this order inside a partition
            uids = ["%s_%d" % (vid, u + 1) for u in range(n)]
            video_ids[vid] = uids
            # MOSI scores are means of annotator ratings in [-3, 3]; one exact 0 per partition
            # (Acc-2 "non-zero" drops it, ComP's modulator skips it).
            lab = np.round(rng.uniform(-3, 3, size=n) * 5) / 5
            lab[0] = 0.0 if k == 0 else lab[0]
            labels[vid] = [np.float64(x) for x in lab]
            speakers[vid] = [""] * n
            sentences[vid] = ["utterance %d of %s" % (u + 1, vid) for u in range(n)]
            vids.append(vid)
            names.extend(uids)
        parts[part] = set(vids)
    label_list = [video_ids, labels, speakers, sentences, parts["train"], parts["valid"], parts["test"]]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "CMUMOSI_features_raw_2way.pkl"), "wb") as f:
        pickle.dump(label_list, f, protocol=4)

    feat = os.path.join(out, "features")
    for m in DIMS:
        os.makedirs(os.path.join(feat, m), exist_ok=True)
    for i, uid in enumerate(names):
        np.save(os.path.join(feat, "audio", uid + ".npy"), rng.randn(1, DIMS["audio"]).astype(np.float32))
        np.save(os.path.join(feat, "text", uid + ".npy"), rng.randn(DIMS["text"]).astype(np.float32))
        face_dir = os.path.join(feat, "visual", uid)
        os.makedirs(face_dir, exist_ok=True)
        n_faces = 1 + i % 3
        for k in range(n_faces):
            face = (rng.randint(-96, 97, size=DIMS["visual"]) / 64.0).astype(np.float32)
            np.save(os.path.join(face_dir, "face_%03d.npy" % k), face)
    return {
        "label_path": os.path.join(out, "CMUMOSI_features_raw_2way.pkl"),
        "audio_root": os.path.join(feat, "audio"),
        "text_root": os.path.join(feat, "text"),
        "video_root": os.path.join(feat, "visual"),
        "test_vids": sorted(parts["test"]),
        "train_vids": sorted(parts["train"]),
    }
