#!/usr/bin/python3
"""Parity fixtures for merc's `m3net` model from the authors' code.

Upstream: github.com/feiyuchen7/M3NET @ 4d0fa88 (method_reference.md §0, §3.1), files model.py,
model_hyper.py, HypergraphConv.py, high_fre_conv.py, model_GCN.py, dataloader.py imported
UNCHANGED from a scratch checkout (never committed here); train.py runs everything under
__main__ (and needs a parsed global `args`), so the lines of it that build the model, run the
loaders and do a training step are mirrored below and marked with their train.py origin.

Command mirrored (README "To train on IEMOCAP", and its --testing form):

  python -u train.py --base-model 'GRU' --dropout 0.5 --lr 0.0001 --batch-size 16
    --graph_type='hyper' --epochs=80 --graph_construct='direct' --multi_modal
    --mm_fusion_mthd='concat_DHT' --modals='avl' --Dataset='IEMOCAP' --norm BN --num_L=3 --num_K=4

M3Net's train.py never saves a checkpoint; its --testing path does
`model.load_state_dict(torch.load("best_model.pth.tar"))` (the authors publish such files), so the
checkpoint here is `torch.save(model.state_dict(), 'best_model.pth.tar')`.

Departures, all in sizes only (no behavioural argument differs from the command):
  * D_g = 512, graph_h = 512 and the feature widths (feat2dim: audio 1582, visual 342) are
    hard-coded in train.py, not command-line arguments, and give a 20 MB checkpoint. They are
    shrunk through the Model constructor's own arguments: D_g 32, graph_h 24, audio 40, visual
    24. The text stays 4 x 1024 (BatchNorm1d(1024) and D_m = 1024 are hard-coded in model.py).
  * --no-cuda, and the CPU patches of graph_erc_data.install_cpu_patches: Tensor.cuda ->
    identity (create_hyper_index calls .cuda() unconditionally), torch_scatter.scatter_add ->
    PyG's scatter(reduce='sum') (torch_scatter is not installed), ipdb -> empty module.
  * PyTorch Geometric 2.3.1 instead of the 1.7.2 the README names: HypergraphConv's second
    propagate (flow='target_to_source', size=(num_edges, num_nodes)) uses the PyG 1.x meaning of
    `size`, which PyG 2 changed; graph_erc_data.pyg1_size_convention swaps the tuple for that flow
    only, so 2.3.1 computes what 1.7.2 computed (without it 2.3.1 raises a size error).

What it writes under OUT (default tests/fixtures/parity/m3net):
  IEMOCAP_features/*.pkl   the dataset (graph_erc_data.py; the same dialogues as moed's)
  best_model.pth.tar       the state_dict after PRETRAIN_EPOCHS (40) epochs of the published optimizer
  test_probs.npy           (N_test, 6) float32: exp(log_prob) of the --testing path (model.eval(),
                           test loader batch_size 16, file order, one batch)
  test_fused.npy           (N_test, 144) float32: HyperGCN's output before dropout/ReLU/smax_fc
  step_loss.npy, step_grads.npz, step_weights.npz   ONE training step from the checkpoint on the
                           train split in file order as one batch, dropout 0 (GRU inter-layer and
                           dropout_), model.train(), Adam(lr 1e-4, weight_decay 3e-5)
  meta.json

Run:  /usr/bin/python3 scripts/parity/m3net.py [--out DIR] [--upstream DIR] [--pyg DIR]
with  git --git-dir=<fetched M3NET mirror> archive 4d0fa88 | tar -x -C /work/scratch/upstream/M3NET
Reruns agree to float32 rounding (OpenBLAS results vary in the last bits between processes);
the committed files are one run.
"""

import argparse
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graph_erc_data as gd  # noqa: E402
from moed import IEMOCAP_TRAIN, IEMOCAP_TEST  # noqa: E402  (the same dialogues)

UPSTREAM = 'feiyuchen7/M3NET@4d0fa88'
# Epochs of the published optimizer on the train split before the checkpoint is saved: enough
# for the learnable weights that start at a constant (M3Net's hyperedge/EW weights, ones) and the
# BatchNorm running statistics to move visibly away from their initial values.
PRETRAIN_EPOCHS = 40
SEED = 1475  # train.py: "We use seed = 1475 on IEMOCAP"

COMMAND = dict(base_model='GRU', dropout=0.5, lr=0.0001, batch_size=16, graph_type='hyper', epochs=80,
               graph_construct='direct', multi_modal=True, mm_fusion_mthd='concat_DHT', modals='avl',
               Dataset='IEMOCAP', norm='BN', num_L=3, num_K=4)
# train.py defaults of the arguments the command leaves unset.
DEFAULTS = dict(l2=0.00003, windowp=10, windowf=10, active_listener=False, attention='general',
                nodal_attention=True, use_topic=False, alpha=0.2, multiheads=6, use_gcn=False, use_residue=False,
                av_using_lstm=False, Deep_GCN_nlayers=4, use_speaker=True, use_modal=False, no_cuda=True)
SIZES = dict(D_g=32, graph_h=24, D_text=1024, D_audio=40, D_visual=24)

STEP_TENSORS = ['smax_fc.weight', 'smax_fc.bias', 'graph_model.fc1.weight', 'graph_model.hyperedge_weight',
                'graph_model.EW_weight', 'graph_model.hyperconv1.bias', 'graph_model.hyperconv3.bias',
                'graph_model.conv1.gate.weight', 'graph_model.conv4.gate.bias',
                'graph_model.speaker_embeddings.weight', 'linear_a.weight', 'linear_v.bias', 'linear_l.weight',
                'gru_l.weight_ih_l0', 'gru_l.weight_hh_l1_reverse', 'normBNa.weight', 'normBNd.bias']
STEP_BUFFERS = ['normBNa.running_mean', 'normBNc.running_var', 'normBNb.num_batches_tracked']


def build_model(Model):
    """train.py lines 345-413 (D_m, D_g, D_p, D_e, D_h, D_a, graph_h, n_speakers, n_classes, seed,
    Model(...)), with the sizes of SIZES."""
    a = dict(DEFAULTS, **COMMAND)
    D_m = 1024  # mm_fusion_mthd != 'concat'
    D_g, D_p, D_e, D_h, D_a, graph_h = SIZES['D_g'], 150, 100, 100, 100, SIZES['graph_h']
    n_speakers, n_classes = 2, 6
    gd.seed_everything(SEED)
    return Model(a['base_model'], D_m, D_g, D_p, D_e, D_h, D_a, graph_h, n_speakers=n_speakers, max_seq_len=200,
                 window_past=a['windowp'], window_future=a['windowf'], n_classes=n_classes,
                 listener_state=a['active_listener'], context_attention=a['attention'], dropout=a['dropout'],
                 nodal_attention=a['nodal_attention'], no_cuda=a['no_cuda'], graph_type=a['graph_type'],
                 use_topic=a['use_topic'], alpha=a['alpha'], multiheads=a['multiheads'],
                 graph_construct=a['graph_construct'], use_GCN=a['use_gcn'], use_residue=a['use_residue'],
                 D_m_v=SIZES['D_visual'], D_m_a=SIZES['D_audio'], modals=a['modals'], att_type=a['mm_fusion_mthd'],
                 av_using_lstm=a['av_using_lstm'], Deep_GCN_nlayers=a['Deep_GCN_nlayers'], dataset=a['Dataset'],
                 use_speaker=a['use_speaker'], use_modal=a['use_modal'], norm=a['norm'], num_L=a['num_L'],
                 num_K=a['num_K'])


def run_batch(model, loss_fn, data, epoch=0):
    """The body of train.py's train_or_eval_graph_model for one batch (concat_DHT path)."""
    import torch
    textf1, textf2, textf3, textf4, visuf, acouf, qmask, umask, label = data[:-1]
    lengths = [(umask[j] == 1).nonzero(as_tuple=False).tolist()[-1][0] + 1 for j in range(len(umask))]
    log_prob, _, _, _, _ = model([textf1, textf2, textf3, textf4], qmask, umask, lengths, acouf, visuf, epoch)
    label = torch.cat([label[j][:lengths[j]] for j in range(len(label))])
    return log_prob, loss_fn(log_prob, label)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default=os.path.join(gd.REPO, 'tests', 'fixtures', 'parity', 'm3net'))
    p.add_argument('--upstream', default='/work/scratch/upstream/M3NET')
    p.add_argument('--pyg', default='/work/scratch/pyg-2.3.1')
    args = p.parse_args()
    gd.install_cpu_patches(args.pyg, args.upstream, need_torch_scatter=True)
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader
    import dataloader as dataloader_mod
    import model as model_mod
    import HypergraphConv as hypergraph_mod
    gd.pyg1_size_convention(hypergraph_mod.HypergraphConv)

    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    gd.write_iemocap(out, gd.seeded_rng(3), IEMOCAP_TRAIN, IEMOCAP_TEST, SIZES['D_text'], SIZES['D_audio'],
                     SIZES['D_visual'])
    cwd = os.getcwd()
    os.chdir(out)  # IEMOCAPDataset opens ./IEMOCAP_features/...
    try:
        trainset, testset = dataloader_mod.IEMOCAPDataset(), dataloader_mod.IEMOCAPDataset(train=False)
        bs = COMMAND['batch_size']
        # get_IEMOCAP_loaders(valid=0.0): train unshuffled, test unshuffled.
        train_loader = DataLoader(trainset, batch_size=bs, collate_fn=trainset.collate_fn)
        test_loader = DataLoader(testset, batch_size=bs, collate_fn=testset.collate_fn)
        # train.py lines 430-456: IEMOCAP, class_weight (default True), graph_model -> NLLLoss(weights)
        loss_weights = torch.FloatTensor([1 / 0.086747, 1 / 0.144406, 1 / 0.227883, 1 / 0.160585, 1 / 0.127711,
                                          1 / 0.252668])
        loss_fn = nn.NLLLoss(loss_weights)

        model = build_model(model_mod.Model)
        optimizer = torch.optim.Adam(model.parameters(), lr=COMMAND['lr'], weight_decay=DEFAULTS['l2'])
        for e in range(PRETRAIN_EPOCHS):
            model.train()
            gd.seed_everything(SEED)
            for data in train_loader:
                optimizer.zero_grad()
                _, loss = run_batch(model, loss_fn, data, e)
                loss.backward()
                optimizer.step()
        torch.save(model.state_dict(), 'best_model.pth.tar')

        # ---- the --testing path ----
        model = build_model(model_mod.Model)
        model.load_state_dict(torch.load('best_model.pth.tar'))
        fused = []
        model.graph_model.register_forward_hook(lambda mod, inp, outp: fused.append(outp.detach().numpy().copy()))
        model.eval()
        gd.seed_everything(SEED)
        probs = []
        for data in test_loader:
            log_prob, _ = run_batch(model, loss_fn, data)
            probs.append(torch.exp(log_prob).detach().numpy())
        gd.save_npy(os.path.join(out, 'test_probs.npy'), np.concatenate(probs).astype(np.float32))
        gd.save_npy(os.path.join(out, 'test_fused.npy'), np.concatenate(fused).astype(np.float32))

        # ---- one training step from the checkpoint, dropout off ----
        model = build_model(model_mod.Model)
        model.load_state_dict(torch.load('best_model.pth.tar'))
        model.gru_l.dropout = 0.0
        model.dropout_.p = 0.0
        optimizer = torch.optim.Adam(model.parameters(), lr=COMMAND['lr'], weight_decay=DEFAULTS['l2'])
        model.train()
        gd.seed_everything(SEED)
        data = next(iter(train_loader))
        assert len(data[-1]) == len(IEMOCAP_TRAIN)
        optimizer.zero_grad()
        _, loss = run_batch(model, loss_fn, data)
        gd.record_step(out, model, optimizer, loss, STEP_TENSORS, STEP_BUFFERS)
    finally:
        os.chdir(cwd)
    gd.save_json(os.path.join(out, 'meta.json'), {
        'upstream': UPSTREAM, 'dataset': 'IEMOCAP', 'command': COMMAND, 'defaults_used': DEFAULTS, 'sizes': SIZES,
        'seed': SEED, 'checkpoint': 'best_model.pth.tar',
        'test_vids': [d[0] for d in IEMOCAP_TEST], 'test_lengths': [len(d[1]) for d in IEMOCAP_TEST],
        'train_vids': [d[0] for d in IEMOCAP_TRAIN], 'train_lengths': [len(d[1]) for d in IEMOCAP_TRAIN],
        'step_loss': loss.item(), 'torch': torch.__version__, 'numpy': np.__version__})
    print('m3net: %d bytes in %s, step loss %.6f' % (gd.dir_size(out), out, loss.item()))


if __name__ == '__main__':
    main()
