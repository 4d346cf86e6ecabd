#!/usr/bin/env python3
"""Does sentencepiece earn a place in the LM? One measurement, see lm/README.md.

Trains a sentencepiece unigram model on the Wikinews training sentences, a
KenLM 6-gram over its pieces, and compares it with the word 5-gram on the same
sentences (held-out news per-word perplexity, OOV-free and OOV sentences
separately, and the dev orig-vs-spun pairs). Also counts how often
sentencepiece's nmt_nfkc normaliser would change text that ours leaves alone.

Needs the sentencepiece package (not used at build or run time):
    python3 -m venv /tmp/lmvenv && /tmp/lmvenv/bin/pip install sentencepiece
    /tmp/lmvenv/bin/python lm/sp_eval.py
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

import sentencepiece as spm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build as B  # noqa: E402
import experiment as X  # noqa: E402
from tokenize_corpus import normalize, split_sentences, tokenize_lines, tokens  # noqa: E402

VOCAB = 16000
ORDER_WORD, ORDER_PIECE = 5, 6


def per_word_ppl(logprobs: list[float], sentences: list[str]) -> float:
    """Perplexity per word token (our tokenizer) + </s>, whatever the LM's units."""
    n = sum(len(tokens(s)) + 1 for s in sentences)
    return round(10 ** (-sum(logprobs) / n), 1)


def main() -> int:
    corpus = B.shared_dir() / "corpus"
    work = X.WORK / "sp"
    work.mkdir(parents=True, exist_ok=True)
    raw_train = [normalize(s).strip() for s in B.news_lines(corpus, "train")]
    raw_train = [s for s in raw_train if s]
    raw_test = [normalize(s).strip() for s in B.news_lines(corpus, "test")]
    raw_test = [s for s in raw_test if tokens(s)]
    (work / "train.txt").write_text("\n".join(raw_train) + "\n", encoding="utf-8")

    spm.SentencePieceTrainer.train(
        input=str(work / "train.txt"),
        model_prefix=str(work / "sp"),
        vocab_size=VOCAB,
        model_type="unigram",
        character_coverage=0.9995,
        num_threads=1,
        input_sentence_size=300000,
        shuffle_input_sentence=True,
        normalization_rule_name="identity",
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=str(work / "sp.model"))

    def pieces(s: str) -> str:
        return " ".join(sp.encode(s, out_type=str))

    word_model = X.WORK / "sp-word.binary"
    piece_model = X.WORK / "sp-piece.binary"
    B.build(tokenize_lines(raw_train), word_model, ORDER_WORD, None)
    B.build((pieces(s) for s in raw_train), piece_model, ORDER_PIECE, None)

    # held-out news: which sentences have a word the word model has never seen
    vocab: set[str] = set()
    for s in raw_train:
        vocab.update(tokens(s))
    has_oov = [any(t not in vocab for t in tokens(s)) for s in raw_test]
    word_lp = X.sentence_logprobs(word_model, [" ".join(tokens(s)) for s in raw_test])
    piece_lp = X.sentence_logprobs(piece_model, [pieces(s) for s in raw_test])
    res: dict[str, object] = {
        "vocab": VOCAB,
        "orders": [ORDER_WORD, ORDER_PIECE],
        "test_sentences": len(raw_test),
        "oov_sentences": sum(has_oov),
    }
    for name, lp in (("word", word_lp), ("piece", piece_lp)):
        res[name] = {
            "ppl_per_word": per_word_ppl(lp, raw_test),
            "ppl_per_word_oov_free": per_word_ppl(
                [x for x, o in zip(lp, has_oov, strict=True) if not o],
                [s for s, o in zip(raw_test, has_oov, strict=True) if not o],
            ),
            "ppl_per_word_oov_sents": per_word_ppl(
                [x for x, o in zip(lp, has_oov, strict=True) if o],
                [s for s, o in zip(raw_test, has_oov, strict=True) if o],
            ),
        }
    # dev pairs: orig vs spun paragraphs, raw sentences for the piece model
    pairs = []
    for orig in sorted((B.shared_dir() / "dev" / "pairs").glob("*.orig.txt")):
        spun = orig.with_name(orig.name.replace(".orig.", ".spun."))
        po, ps = (
            [normalize(" ".join(p.split())) for p in f.read_text().split("\n\n") if p.strip()]
            for f in (orig, spun)
        )
        if len(po) == len(ps):
            pairs += [
                (split_sentences(a), split_sentences(b))
                for a, b in zip(po, ps, strict=True)
                if tokens(a) != tokens(b)
            ]
    flat = [s for a, b in pairs for s in (*a, *b)]
    for name, model, enc in (
        ("word", word_model, lambda s: " ".join(tokens(s))),
        ("piece", piece_model, pieces),
    ):
        scores = iter(X.sentence_logprobs(model, [enc(s) for s in flat]))
        wins = 0
        for a, b in pairs:
            wins += sum(next(scores) for _ in a) > sum(next(scores) for _ in b)
        res[name]["dev_orig_wins"] = round(wins / len(pairs), 4)  # type: ignore[index]
    res["dev_pairs"] = len(pairs)
    for m in (word_model, piece_model):
        res[m.stem + "_mib"] = round(m.stat().st_size / 2**20, 1)

    # nmt_nfkc vs ours: lines of all Wikinews where NFKC changes our normalised text
    changed = total = 0
    examples: dict[str, int] = {}
    for line in B.read_xz(corpus / B.NEWS_FILE):
        ours = normalize(line)
        nfkc = unicodedata.normalize("NFKC", ours)
        total += 1
        if nfkc != ours:
            changed += 1
            for c in set(ours) - set(nfkc):
                examples[c] = examples.get(c, 0) + 1
    res["nfkc_changed_lines"] = changed
    res["nfkc_total_lines"] = total
    res["nfkc_top_chars"] = sorted(examples.items(), key=lambda kv: -kv[1])[:12]
    print(json.dumps(res, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
