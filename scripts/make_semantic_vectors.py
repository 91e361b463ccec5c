#!/usr/bin/python3
"""Per-utterance semantic vectors for merc's `semantic=DIR` input (docs/semantic_vectors.md).

Reads the transcripts of a dataset and writes OUT_DIR/<utterance id>.npy, one float32 vector [K]
per utterance, computed offline by any Hugging Face model:

  * default: the mean-pooled last hidden state of the transcript (an encoder such as
    sentence-transformers/all-MiniLM-L6-v2, or any LLM);
  * --prompt TEMPLATE: an instruction-tuned LLM is asked for the utterance's emotion keywords
    (TEMPLATE with {transcript}, or `keywords` for the built-in prompt KEYWORD_PROMPT below, wrapped
    in the model's chat template when it has one), the answer
    is generated greedily, and the vector is the mean last hidden state over the generated keyword
    tokens. This stands in for the CADGL paper's "LLM-guided keyword extraction". The keywords are
    also written to OUT_DIR/keywords.tsv for inspection.

INPUT is a merc dataset file (`merc data convert ANY_INPUT --to data.safetensors`; ids and
transcripts are read with the standard library) or a CSV with the columns utterance_id,transcript
and, where utterance ids repeat (MELD, DailyDialog), dialogue_id: the files are then
OUT_DIR/<dialogue id>/<uid>.npy, as merc expects. Needs numpy; the model needs torch and
transformers.

    python3 scripts/make_semantic_vectors.py data.safetensors feats/minilm \\
        --model sentence-transformers/all-MiniLM-L6-v2
    python3 scripts/make_semantic_vectors.py data.safetensors feats/qwen-keywords \\
        --model Qwen/Qwen2.5-0.5B-Instruct --prompt keywords --device cuda
    merc train --data data.safetensors --set 'data.features=[semantic=feats/minilm]' ...
"""
import argparse
import csv
import json
import os
import struct
import sys

KEYWORD_PROMPT = ('List the words or short phrases that carry the emotion of this utterance from a '
                  'conversation, comma-separated, nothing else.\nUtterance: "{transcript}"\nKeywords:')


def read_merc_dataset(path):
    """(utterance ids, transcripts, dialogue id of each utterance) from a merc dataset file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        meta = header.get("__metadata__", {})
        if meta.get("format") != "merc.dataset":
            sys.exit(f"{path}: not a merc dataset file (convert it with `merc data convert {path} --to X.safetensors`)")
        begin, end = header["dialogue_offsets"]["data_offsets"]  # I64 (num_dialogues + 1,)
        f.seek(8 + n + begin)
        offsets = struct.unpack(f"<{(end - begin) // 8}q", f.read(end - begin))
    dialogues = [d for d, lo, hi in zip(json.loads(meta["dialogue_ids"]), offsets, offsets[1:]) for _ in range(hi - lo)]
    return json.loads(meta["utterance_ids"]), json.loads(meta["transcripts"]), dialogues


def read_csv(path):
    """(utterance ids, transcripts, dialogue ids or None) from a CSV with the columns
    utterance_id,transcript and optionally dialogue_id."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"utterance_id", "transcript"} - set(reader.fieldnames or [])
        if missing:
            sys.exit(f"{path}: missing column(s) {', '.join(sorted(missing))}; expected utterance_id,transcript "
                     f"[,dialogue_id] (got {', '.join(reader.fieldnames or [])})")
        rows = list(reader)
    dialogues = [r["dialogue_id"] for r in rows] if "dialogue_id" in reader.fieldnames else None
    return [r["utterance_id"] for r in rows], [r["transcript"] for r in rows], dialogues


def plain_name(name):
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0")


def read_input(path):
    """(ids, transcripts, relative output paths without .npy): <uid>, or <dialogue id>/<uid> where
    utterance ids repeat (merc's rule, docs/semantic_vectors.md)."""
    with open(path, "rb") as f:
        head = f.read(9)
    # A safetensors header length (8 bytes) followed by '{'; anything else is taken as CSV.
    ids, texts, dialogues = read_merc_dataset(path) if len(head) == 9 and head[8:9] == b"{" else read_csv(path)
    for uid in ids:
        if not plain_name(uid):
            sys.exit(f"{path}: utterance id {uid!r} cannot name a file")
    if len(set(ids)) == len(ids):
        return ids, texts, ids
    if dialogues is None:
        sys.exit(f"{path}: utterance ids repeat, so the files are <dialogue id>/<uid>.npy: add a dialogue_id column")
    names = [f"{d}/{u}" for d, u in zip(dialogues, ids)]
    for d in set(dialogues):
        if not all(plain_name(part) for part in d.split("/")):
            sys.exit(f"{path}: dialogue id {d!r} cannot name a sub-folder")
    if len(set(names)) != len(names):
        sys.exit(f"{path}: an utterance id occurs twice in one dialogue")
    return ids, texts, names


def mean_pool(hidden, mask):
    """Mean of hidden (B, L, H) over the positions where mask (B, L) is 1 -> float32 (B, H)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return ((hidden * m).sum(1) / m.sum(1).clamp(min=1)).float().cpu().numpy()


def embed(model, tok, texts, device):
    enc = tok(texts, padding=True, truncation=True, return_tensors="pt").to(device)
    return mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])


def keyword_vectors(model, tok, texts, template, device, max_new_tokens):
    """Generates the keywords of each text; returns (mean last hidden state over them, keywords)."""
    import torch

    prompts = [template.format(transcript=t) for t in texts]
    if getattr(tok, "chat_template", None):
        prompts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                           add_generation_prompt=True) for p in prompts]
    enc = tok(prompts, padding=True, return_tensors="pt").to(device)
    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    prompt_mask = enc["attention_mask"]
    generated = out[:, prompt_mask.shape[1]:]
    # The answer: the generated tokens before the first end-of-sequence token.
    answer = ((generated == tok.eos_token_id).int().cumsum(1) == 0).to(prompt_mask.dtype)
    full_mask = torch.cat([prompt_mask, answer], 1)
    # Positions as generate() gave them: prompts are left-padded.
    positions = (full_mask.cumsum(1) - 1).clamp(min=0)
    hidden = model(input_ids=out, attention_mask=full_mask, position_ids=positions,
                   output_hidden_states=True).hidden_states[-1]
    answer_mask = torch.cat([torch.zeros_like(prompt_mask), answer], 1)
    # An empty answer falls back to the prompt's own hidden states.
    pool_mask = torch.where(answer_mask.sum(1, keepdim=True) > 0, answer_mask, full_mask)
    words = [tok.decode(g[a.bool()], skip_special_tokens=True).strip() for g, a in zip(generated, answer)]
    return mean_pool(hidden, pool_mask), words


def main():
    intro, details = __doc__.split("\n\n", 1)
    p = argparse.ArgumentParser(description=intro, epilog=details,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="merc dataset file (.safetensors) or CSV with utterance_id,transcript")
    p.add_argument("out_dir", help="folder for <utterance id>.npy; its name becomes the dataset's semantic_source")
    p.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2", help="Hugging Face model name or path")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps")
    p.add_argument("--prompt", metavar="TEMPLATE",
                   help="ask the (instruction-tuned, causal) LLM for keywords with this template ({transcript} is "
                        "replaced); 'keywords' = the built-in keyword prompt")
    p.add_argument("--max-new-tokens", type=int, default=24, help="length of the generated keyword answer")
    p.add_argument("--dry-run", action="store_true", help="read INPUT, print what would be done, write nothing")
    args = p.parse_args()
    if args.prompt == "keywords":
        args.prompt = KEYWORD_PROMPT
    if args.prompt is not None and "{transcript}" not in args.prompt:
        sys.exit("--prompt must contain {transcript}")

    ids, texts, names = read_input(args.input)
    print(f"{args.input}: {len(ids)} utterances, {sum(1 for t in texts if not t.strip())} with an empty transcript")
    if args.dry_run:
        if ids:
            print("first input:", (args.prompt or "{transcript}").format(transcript=texts[0]))
            print("first file:", os.path.join(args.out_dir, names[0] + ".npy"))
        return

    try:
        import numpy as np
        import torch
        from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        sys.exit(f"make_semantic_vectors.py needs numpy, torch and transformers ({e}); "
                 "install them with: pip install numpy torch transformers")

    tok = AutoTokenizer.from_pretrained(args.model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if args.prompt is not None:
        tok.padding_side = "left"  # generation continues every prompt from its last real token
        model = AutoModelForCausalLM.from_pretrained(args.model)
    else:
        model = AutoModel.from_pretrained(args.model)
    model.to(args.device).eval()
    os.makedirs(args.out_dir, exist_ok=True)
    keywords = []
    dim = None
    with torch.no_grad():
        for start in range(0, len(ids), args.batch_size):
            batch = slice(start, start + args.batch_size)
            batch_ids, batch_texts = ids[batch], texts[batch]
            if args.prompt is None:
                vectors = embed(model, tok, batch_texts, args.device)
            else:
                vectors, words = keyword_vectors(model, tok, batch_texts, args.prompt, args.device,
                                                 args.max_new_tokens)
                keywords += zip(names[batch], words)
            dim = vectors.shape[1]
            for name, v in zip(names[batch], vectors):
                path = os.path.join(args.out_dir, name + ".npy")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                np.save(path, v.astype(np.float32))
            print(f"{min(start + args.batch_size, len(ids))}/{len(ids)}", file=sys.stderr, end="\r")
    if keywords:
        with open(os.path.join(args.out_dir, "keywords.tsv"), "w", encoding="utf-8") as f:
            f.writelines(f"{uid}\t{' '.join(w.split())}\n" for uid, w in keywords)
    print(f"wrote {len(ids)} vectors of dim {dim} to {args.out_dir}")


if __name__ == "__main__":
    main()
