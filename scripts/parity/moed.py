#!/usr/bin/python3
"""Parity fixtures for merc's `moed` model from the authors' code.

Upstream: github.com/edm-anonymous/MoED @ d35f7a4 (method_reference.md §0, §4), files model.py,
model_graph.py, gcn.py, utils.py, dataloader.py imported UNCHANGED from a scratch checkout
(never committed here); train.py is not importable (its body runs under __main__ and imports
fvcore/thop/torchinfo), so the few lines of it that build the model, run the loaders and do a
training step are mirrored below and marked with their train.py origin.

Commands mirrored (README "Train on IEMOCAP" / "Train on MELD", and the same with --testing):

  IEMOCAP: python -u train.py --base-model 'GRU' --dropout 0.5 --lr 0.0001 --batch-size=32
    --epochs=60 --multi_modal --mm_fusion_mthd='concat_DHT' --modals='avl' --Dataset='IEMOCAP'
    --norm BN --num_L=6 --num_K=3 --window_spk=10 --window_spk_f=-1 --window_dir=1
    --window_dir_f=-1 --epsilon2=1 --epsilon=1 --use_speaker='bh' --multimodal_node='both'
    --graph_type='both' --directed_edge='avl' --single_edge=''
  MELD: python -u train.py --base-model 'GRU' --dropout=0.4 --lr=0.0001 --batch-size 32 --epochs=6
    --multi_modal --mm_fusion_mthd='concat_DHT' --modals='avl' --Dataset='MELD' --norm BN
    --num_L=1 --num_K=1 --window_spk=3 --window_spk_f=1 --window_dir=8 --window_dir_f=6
    --epsilon2=0.1 --epsilon=1.1 --use_speaker='i' --multimodal_node='both' --graph_type='both'
    --directed_edge='avl' --single_edge=''

Departures, all in sizes only (no behavioural argument differs from the commands above):
  * The published sizes are hard-coded in train.py, not command-line arguments (D_g = 512 IEMOCAP /
    1024 MELD, graph_h = 512, D_text = 1024, feat2dim audio 1582 / 300, visual 342), and give
    20 MB (IEMOCAP) / 60 MB (MELD) checkpoints. They are shrunk here through the Model
    constructor's own arguments: IEMOCAP D_g 32, graph_h 24, text 4 x 1024 (kept: M3Net's
    BatchNorm1d(1024) is hard-coded and the two share this layout), audio 40, visual 24;
    MELD D_g 32, graph_h 24, text 4 x 32 (MELD has no linear_l, so D_g must equal the text
    width, as 1024 = 1024 in the published sizes), audio 30, visual 20.
  * --no-cuda (this machine has no GPU) and the CPU patches of graph_erc_data.install_cpu_patches
    (Tensor.cuda -> identity: the edge builders and FocalLoss call .cuda() unconditionally).

What it writes under OUT/<iemocap|meld>/ (OUT default tests/fixtures/parity/moed):
  IEMOCAP_features/*.pkl or MELD_features/*.pkl  the dataset (graph_erc_data.py), train + test
  best_model_IEMOCAP.pth / best_model_MELD.pth  torch.save(model.state_dict(), path) exactly as
      train.py saves it, after PRETRAIN_EPOCHS (40) epochs of the published optimizer on the train
      split (so BatchNorm running statistics and weights are not at their initial values)
  test_probs.npy      (N_test, C) float32: exp(log_prob) of the --testing path (model.eval(),
                      test loader batch_size 32, file order, all test dialogues in one batch)
  test_fused.npy      (N_test, 48) float32: the multimodal_emotions (z) the --testing path saves
  step_loss.npy       (1,) float64: loss of ONE training step from the checkpoint's weights on the
                      train split in file order as one batch, GRU inter-layer dropout set to 0
                      (the model's only active dropout), model.train() (BatchNorm batch stats)
  step_grads.npz      gradients of that step for a few tensors (upstream names)
  step_weights.npz    the same tensors after optimizer.step() (Adam lr 1e-4, weight_decay 3e-5),
                      plus BatchNorm running statistics after the step's forward
  meta.json           order of the test / train dialogues, their lengths, sizes, command, versions

Run:  /usr/bin/python3 scripts/parity/moed.py [--out DIR] [--upstream DIR] [--pyg DIR]
with the upstream checkout made by
  git --git-dir=<fetched MoED mirror> archive d35f7a4 | tar -x -C /work/scratch/upstream/MoED
and PyTorch Geometric 2.3.1 source at --pyg (pure Python; no torch_scatter/torch_sparse needed).
Reruns agree to float32 rounding (a few 1e-8 in weights, 1e-7 in probabilities: OpenBLAS results
vary in the last bits between processes here); the committed files are one run.
"""

import argparse
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graph_erc_data as gd  # noqa: E402

UPSTREAM = 'edm-anonymous/MoED@d35f7a4'
# Epochs of the published optimizer on the train split before the checkpoint is saved: enough
# for the learnable weights that start at a constant (M3Net's hyperedge/EW weights, ones) and the
# BatchNorm running statistics to move visibly away from their initial values.
PRETRAIN_EPOCHS = 40
SEED = 67137  # train.py: seed = 67137

COMMANDS = {
    'IEMOCAP': dict(base_model='GRU', dropout=0.5, lr=0.0001, batch_size=32, epochs=60, multi_modal=True,
                    mm_fusion_mthd='concat_DHT', modals='avl', Dataset='IEMOCAP', norm='BN', num_L=6, num_K=3,
                    window_spk=10, window_spk_f=-1, window_dir=1, window_dir_f=-1, epsilon2=1.0, epsilon=1.0,
                    use_speaker='bh', multimodal_node='both', graph_type='both', directed_edge='avl',
                    single_edge=''),
    'MELD': dict(base_model='GRU', dropout=0.4, lr=0.0001, batch_size=32, epochs=6, multi_modal=True,
                 mm_fusion_mthd='concat_DHT', modals='avl', Dataset='MELD', norm='BN', num_L=1, num_K=1,
                 window_spk=3, window_spk_f=1, window_dir=8, window_dir_f=6, epsilon2=0.1, epsilon=1.1,
                 use_speaker='i', multimodal_node='both', graph_type='both', directed_edge='avl', single_edge=''),
}
# train.py defaults of the arguments the commands leave unset.
DEFAULTS = dict(l2=0.00003, use_residue=False, av_using_lstm=False, use_modal=False, no_cuda=True)

SIZES = {
    'IEMOCAP': dict(D_g=32, graph_h=24, D_text=1024, D_audio=40, D_visual=24),
    'MELD': dict(D_g=32, graph_h=24, D_text=32, D_audio=30, D_visual=20),
}

# Dialogues: (vid, speakers, labels). Lengths 1..12 in the same batch: the padded-GRU quirk, the
# windows (IEMOCAP window_spk 10: speaker M has 11 turns in Ses05M_impro02; MELD window_dir 8/6:
# dialogues of 11 and 12) and a one-utterance dialogue (zero-degree nodes).
IEMOCAP_TRAIN = [('Ses01F_impro01', 'MFMMFFMFMF', [0, 1, 2, 3, 4, 5, 5, 2, 1, 0]),
                 ('Ses02M_script01a', 'FFM', [2, 3, 5]),
                 ('Ses03F_impro04', 'MFMFMF', [4, 4, 1, 0, 3, 2])]
IEMOCAP_TEST = [('Ses05F_impro03', 'FMFFMMFMF', [1, 5, 2, 2, 0, 3, 4, 5, 1]),
                ('Ses05M_impro02', 'MMMMMFMMMMMM', [3, 0, 5, 1, 2, 4, 4, 3, 0, 5, 2, 1]),
                ('Ses05M_script02b', 'FM', [4, 0]),
                ('Ses05F_script01c', 'M', [2])]
MELD_TRAIN = [(12, [0, 1, 0, 2, 1, 0, 3], [0, 4, 6, 0, 1, 2, 3]),
              (415, [4, 4, 5], [5, 0, 0]),
              (1007, [1, 2, 3, 1, 2, 3, 1, 2, 3, 0], [6, 5, 4, 3, 2, 1, 0, 0, 4, 4])]
MELD_TEST = [(1153, [0, 1, 0, 1, 2, 0, 1, 0, 2, 1, 0], [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3]),
             (1160, [3, 3, 3, 4], [4, 4, 0, 6]),
             (1172, [8], [2]),
             (1201, [5, 6, 7, 5, 6, 7, 5, 6, 7, 5, 6, 8], [1, 0, 3, 0, 0, 4, 2, 6, 5, 0, 1, 0])]

# Tensors whose gradient and post-step value are recorded (upstream names).
STEP_TENSORS = ['smax_fc.weight', 'smax_fc.bias', 'graph_model.fc1.weight', 'graph_model.fc2.bias',
                'graph_model.conv1.gate.weight', 'graph_model.speaker_embeddings.weight', 'linear_u.weight',
                'linear_a.weight', 'linear_v.bias', 'gru_l.weight_ih_l0', 'gru_l.weight_hh_l1_reverse',
                'normBNa.weight', 'normBNd.bias']
STEP_BUFFERS = ['normBNa.running_mean', 'normBNc.running_var', 'normBNb.num_batches_tracked']


def build_model(Model, cmd, sizes):
    """train.py lines 351-428 (D_m, D_g, D_e, graph_h, n_speakers, n_classes, seed, Model(...)),
    with the sizes of SIZES."""
    a = dict(DEFAULTS, **cmd)
    D_m = 1024  # mm_fusion_mthd != 'concat'
    D_g, D_e, graph_h = sizes['D_g'], 100, sizes['graph_h']
    n_speakers = 9 if a['Dataset'] == 'MELD' else 2
    n_classes = 7 if a['Dataset'] == 'MELD' else 6
    gd.seed_everything(SEED)
    return Model(a['base_model'], D_m, D_g, D_e, graph_h, n_speakers=n_speakers, window_spk=a['window_spk'],
                 window_dir=a['window_dir'], window_spk_f=a['window_spk_f'], window_dir_f=a['window_dir_f'],
                 n_classes=n_classes, dropout=a['dropout'], no_cuda=a['no_cuda'], use_residue=a['use_residue'],
                 D_m_t=sizes['D_text'], epsilon=a['epsilon'], epsilon2=a['epsilon2'], D_m_v=sizes['D_visual'],
                 D_m_a=sizes['D_audio'], modals=a['modals'], att_type=a['mm_fusion_mthd'],
                 av_using_lstm=a['av_using_lstm'], dataset=a['Dataset'], use_speaker=a['use_speaker'],
                 use_modal=a['use_modal'], norm=a['norm'], num_L=a['num_L'], num_K=a['num_K'],
                 multimodal_node=a['multimodal_node'], graph_type=a['graph_type'],
                 directed_edge=a['directed_edge'], single_edge=a['single_edge'])


def loss_function(model_mod, dataset):
    """train.py lines 436-456."""
    import torch
    import torch.nn as nn
    if dataset == 'IEMOCAP':
        w = torch.FloatTensor([1 / 0.086747, 1 / 0.144406, 1 / 0.227883, 1 / 0.160585, 1 / 0.127711, 1 / 0.252668])
        return nn.NLLLoss(w)
    return model_mod.FocalLoss()


def run_batch(model, loss_fn, data):
    """The body of train.py's train_or_eval_graph_model for one batch (IEMOCAP/MELD path)."""
    import torch
    textf1, textf2, textf3, textf4, visuf, acouf, qmask, umask, label = data[:-1]
    lengths = [(umask[j] == 1).nonzero(as_tuple=False).tolist()[-1][0] + 1 for j in range(len(umask))]
    log_prob, multimodal_emotions, spk_idx, _ = model([textf1, textf2, textf3, textf4], qmask, lengths, acouf, visuf)
    label = torch.cat([label[j][:lengths[j]] for j in range(len(label))])
    loss = loss_fn(log_prob, label)
    return log_prob, multimodal_emotions, loss, lengths


def make_dataset(dataloader_mod, dataset, train):
    if dataset == 'IEMOCAP':
        return dataloader_mod.IEMOCAPDataset(train=train)
    return dataloader_mod.MELDDataset('MELD_features/MELD_features_raw1.pkl', train=train)


def generate(dataset, out_root):
    import torch
    from torch.utils.data import DataLoader
    import dataloader as dataloader_mod
    import model as model_mod

    cmd, sizes = COMMANDS[dataset], SIZES[dataset]
    out = os.path.join(out_root, dataset.lower())
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    rng = gd.seeded_rng(1 if dataset == 'IEMOCAP' else 2)
    if dataset == 'IEMOCAP':
        gd.write_iemocap(out, rng, IEMOCAP_TRAIN, IEMOCAP_TEST, sizes['D_text'], sizes['D_audio'], sizes['D_visual'])
        train_d, test_d = IEMOCAP_TRAIN, IEMOCAP_TEST
    else:
        gd.write_meld(out, rng, MELD_TRAIN, MELD_TEST, sizes['D_text'], sizes['D_audio'], sizes['D_visual'])
        train_d, test_d = MELD_TRAIN, MELD_TEST
    cwd = os.getcwd()
    os.chdir(out)  # the upstream loaders open ./IEMOCAP_features/... and MELD_features/...
    try:
        trainset, testset = make_dataset(dataloader_mod, dataset, True), make_dataset(dataloader_mod, dataset, False)
        # get_*_loaders(valid=0.0): IEMOCAP train unshuffled; MELD train shuffled by a
        # SubsetRandomSampler; test unshuffled; batch_size from the command.
        bs = cmd['batch_size']
        if dataset == 'IEMOCAP':
            train_loader = DataLoader(trainset, batch_size=bs, collate_fn=trainset.collate_fn)
        else:
            from torch.utils.data.sampler import SubsetRandomSampler
            train_loader = DataLoader(trainset, batch_size=bs, collate_fn=trainset.collate_fn,
                                      sampler=SubsetRandomSampler(list(range(len(trainset)))))
        test_loader = DataLoader(testset, batch_size=bs, collate_fn=testset.collate_fn)
        ordered_train_loader = DataLoader(trainset, batch_size=bs, collate_fn=trainset.collate_fn)

        # ---- training epochs, then torch.save(model.state_dict(), ...) as train.py does ----
        model = build_model(model_mod.Model, cmd, sizes)
        loss_fn = loss_function(model_mod, dataset)
        optimizer = torch.optim.Adam(model.parameters(), lr=cmd['lr'], weight_decay=DEFAULTS['l2'])
        for _ in range(PRETRAIN_EPOCHS):
            model.train()
            gd.seed_everything(SEED)
            for data in train_loader:
                optimizer.zero_grad()
                _, _, loss, _ = run_batch(model, loss_fn, data)
                loss.backward()
                optimizer.step()
        ckpt_name = 'best_model_%s.pth' % dataset
        torch.save(model.state_dict(), './' + ckpt_name)

        # ---- the --testing path: fresh model, load_state_dict(torch.load(path)), eval on test ----
        model = build_model(model_mod.Model, cmd, sizes)
        device = torch.device('cpu')
        model.load_state_dict(torch.load('./' + ckpt_name, map_location=device))
        model.eval()
        gd.seed_everything(SEED)
        probs, fused = [], []
        for data in test_loader:
            log_prob, z, _, _ = run_batch(model, loss_fn, data)
            probs.append(torch.exp(log_prob).detach().numpy())
            fused.append(z.detach().numpy())
        gd.save_npy(os.path.join(out, 'test_probs.npy'), np.concatenate(probs).astype(np.float32))
        gd.save_npy(os.path.join(out, 'test_fused.npy'), np.concatenate(fused).astype(np.float32))

        # ---- one training step from the checkpoint, dropout off, train split in file order ----
        model = build_model(model_mod.Model, cmd, sizes)
        model.load_state_dict(torch.load('./' + ckpt_name, map_location=device))
        model.gru_l.dropout = 0.0  # the only dropout the forward applies (dropout_ is never called)
        optimizer = torch.optim.Adam(model.parameters(), lr=cmd['lr'], weight_decay=DEFAULTS['l2'])
        model.train()
        gd.seed_everything(SEED)
        data = next(iter(ordered_train_loader))
        assert len(data[-1]) == len(train_d)  # the whole train split is one batch
        optimizer.zero_grad()
        _, _, loss, _ = run_batch(model, loss_fn, data)
        gd.record_step(out, model, optimizer, loss, STEP_TENSORS, STEP_BUFFERS)
    finally:
        os.chdir(cwd)

    meta = {
        'upstream': UPSTREAM,
        'dataset': dataset,
        'command': cmd,
        'defaults_used': DEFAULTS,
        'sizes': sizes,
        'seed': SEED,
        'checkpoint': ckpt_name,
        'test_vids': [str(d[0]) for d in test_d],
        'test_lengths': [len(d[1]) for d in test_d],
        'train_vids': [str(d[0]) for d in train_d],
        'train_lengths': [len(d[1]) for d in train_d],
        'step_loss': loss.item(),
        'torch': torch.__version__,
        'numpy': np.__version__,
    }
    gd.save_json(os.path.join(out, 'meta.json'), meta)
    print('%s: %d bytes in %s, step loss %.6f' % (dataset, gd.dir_size(out), out, loss.item()))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default=os.path.join(gd.REPO, 'tests', 'fixtures', 'parity', 'moed'))
    p.add_argument('--upstream', default='/work/scratch/upstream/MoED')
    p.add_argument('--pyg', default='/work/scratch/pyg-2.3.1')
    p.add_argument('--dataset', choices=['IEMOCAP', 'MELD', 'both'], default='both')
    args = p.parse_args()
    gd.install_cpu_patches(args.pyg, args.upstream)
    out = os.path.abspath(args.out)
    for ds in (['IEMOCAP', 'MELD'] if args.dataset == 'both' else [args.dataset]):
        generate(ds, out)


if __name__ == '__main__':
    main()
