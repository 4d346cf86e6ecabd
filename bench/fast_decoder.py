"""Prototype of the decode.py speed-ups proposed in docs/bench.md (not wired in; the lead owns
decode.py). Same search, same edits: ``python bench/fast_decoder.py`` checks equality on the
dev spun news and times both.

1. tokenise once per document and build each sentence's options once for both passes;
2. options memoised by the sentence-local token tuple, lookups stop at a prefix no key has;
3. the beam loop calls ``Model.BaseScore`` directly (no wrapper, no tuple per step) and
   skips the sort when a layer holds no more hypotheses than the beam.
"""

from __future__ import annotations

import math
import sys
import time

import kenlm

from repair.decode import Decoder, Option, broken_number
from repair.edits import Edit
from repair.lexicon import transfer_case
from repair.text import Token, sentences, tokenize


class FastDecoder(Decoder):
    def __init__(self, *a, **k) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*a, **k)
        idx = self.lex._index
        self._prefixes = {key[:n] for key in idx for n in range(1, len(key) + 1)}
        self._span_cache: dict[tuple[str, ...], tuple[Option, ...]] = {}
        self._tok_cache: dict[str, tuple[Option, ...]] = {}

    def _span(self, norms: tuple[str, ...]) -> tuple[Option, ...]:
        got = self._span_cache.get(norms)
        if got is None:
            cands = self.lex.lookup(tuple(w.lower() for w in norms))
            src = " ".join(norms)
            got = tuple(
                Option(len(norms), tuple(transfer_case(src, " ".join(c.words)).split()),
                       c.logp, c.rule)
                for c in cands
            )
            self._span_cache[norms] = got
        return got

    def _tok_extra(self, tok: str) -> tuple[Option, ...]:
        got = self._tok_cache.get(tok)
        if got is None:
            num = broken_number(tok)
            if num is not None:
                got = (Option(1, (num,), 0.0, "number"),)
            elif "-" in tok and not tok.startswith("-"):
                got = tuple(self._hyphen_options(tok))
            else:
                got = ()
            self._tok_cache[tok] = got
        return got

    def options(self, toks: list[Token], i: int, j: int) -> list[list[Option]]:
        norms = [t.norm for t in toks[i:j]]
        lows = [w.lower() for w in norms]
        pre = self._prefixes
        maxlen = self.lex.max_len
        m = j - i
        out: list[list[Option]] = []
        for a in range(m):
            here: list[Option] = []
            for n in range(1, min(maxlen, m - a) + 1):
                if tuple(lows[a : a + n]) not in pre:
                    break
                here.extend(self._span(tuple(norms[a : a + n])))
            here.extend(self._tok_extra(norms[a]))
            out.append(here)
        return out

    def run(self, text: str) -> tuple[list[Edit], float]:
        toks = tokenize(text)
        spans = [(i, j, self.options(toks, i, j)) for i, j in sentences(text, toks)]
        first = self._decode(text, toks, spans, 0.5)
        if not first:
            return [], self.spin_probability(0.0, len(text))
        n = sum(1 for t in toks if t.norm[:1].isalnum())
        p = self.spin_probability(sum(e.confidence for e in first), n)
        return self._decode(text, toks, spans, min(max(p, 1e-3), 0.99)), p

    def _decode(self, text, toks, spans, prior):  # type: ignore[no-untyped-def]
        edits: list[Edit] = []
        for i, j, opts in spans:
            if any(opts):
                edits.extend(self._search(text, toks, i, j, opts, prior))
        return edits

    def _search(self, text, toks, i, j, opts, prior):  # type: ignore[no-untyped-def]
        base = self.lm.model.BaseScore
        State = kenlm.State
        words = [t.norm for t in toks[i:j]]
        n = j - i
        log_prior = math.log10(max(prior, 1e-9))
        extra = log_prior - self.w.bias
        beam = self.w.beam
        start = self.lm.begin()
        hyps: list[dict] = [dict() for _ in range(n + 1)]
        hyps[0][start] = (0.0, None)
        for k in range(n):
            hk = hyps[k]
            if not hk:
                continue
            layer = hk.items() if len(hk) <= beam else sorted(
                hk.items(), key=lambda kv: -kv[1][0])[:beam]
            ok = opts[k]
            for state, (score, _b) in layer:
                # keep the token
                st = State()
                s = score + base(state, words[k], st)
                if k + 1 == n:
                    s += base(st, "</s>", State())
                slot = hyps[k + 1]
                prev = slot.get(st)
                if prev is None or s > prev[0]:
                    slot[st] = (s, (k, state, None))
                for opt in ok:
                    s = score + opt.logp + extra
                    st = state
                    for w in opt.words:
                        nxt = State()
                        s += base(st, w, nxt)
                        st = nxt
                    step = opt.length
                    if k + step == n:
                        s += base(st, "</s>", State())
                    slot = hyps[k + step]
                    prev = slot.get(st)
                    if prev is None or s > prev[0]:
                        slot[st] = (s, (k, state, opt))
        _best_state, (_best, back) = max(hyps[n].items(), key=lambda kv: kv[1][0])
        chosen: list[tuple[int, Option]] = []
        while back is not None:
            k, pstate, opt = back
            if opt is not None:
                chosen.append((k, opt))
            back = hyps[k][pstate][1]
        chosen.reverse()
        if not chosen:
            return []
        return self._explain(text, toks, i, words, chosen, log_prior)


def main() -> None:
    from repair import Config, Repairer
    from repair.bench import corpus, default_inputs, read_texts
    from repair.score import count_words

    r = Repairer(Config())
    fast = FastDecoder(r.lm, r.lexicon, r.decoder.w)
    texts = read_texts(sys.argv[1:] or default_inputs())
    for t in texts:
        assert fast.run(t) == r.decoder.run(t), "edits differ"
    print(f"identical edits on {len(texts)} documents")
    docs = corpus(texts, 60_000)
    n = sum(count_words(d) for d in docs)
    for name, dec in (("decode.py", r.decoder), ("prototype", fast), ("decode.py", r.decoder),
                      ("prototype", fast)):
        c = time.process_time()
        for d in docs:
            dec.run(d)
        c = time.process_time() - c
        print(f"{name:10} {n / c:,.0f} words per CPU-second")


if __name__ == "__main__":
    main()
